"""The weekly report built from a world whose figures are known by hand (`patrol.reports.testing`),
checked in all three formats: the numbers in the XLSX, the figures in the HTML, the text of the PDF,
and the PDF's pages rendered to PNG (kept under tests/artifacts/report/) checked for tofu."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook

from patrol.reports import ReportRecord, build_weekly_report, list_reports
from patrol.reports.fonts import find_cjk_font, font_codepoints
from patrol.reports.testing import HOSTILE_TITLE, KNOWN_WEEK, build_known_world
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # one full build (charts, WeasyPrint) and a PDF parse: ~30 s on a busy machine

ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "report"


@dataclass
class Built:
    record: ReportRecord
    sheets: dict[str, dict[str, pd.DataFrame]]
    html: str
    pdf: Path


def xlsx_tables(path: Path) -> dict[str, dict[str, pd.DataFrame]]:
    """Every table of every sheet: a title row, a header row, data rows up to the first row that has
    nothing beyond its first cell."""
    workbook = load_workbook(path)
    sheets: dict[str, dict[str, pd.DataFrame]] = {}
    for sheet in workbook.worksheets:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        tables: dict[str, pd.DataFrame] = {}
        i = 0
        while i < len(rows) - 1:
            title, header = rows[i], rows[i + 1]
            is_table = (
                title[0] is not None and all(v is None for v in title[1:]) and sum(v is not None for v in header) >= 2
            )
            if not is_table:
                i += 1
                continue
            columns = [str(v) for v in header if v is not None]
            body = []
            j = i + 2
            while j < len(rows) and any(v is not None for v in rows[j][1:]):
                body.append(rows[j][: len(columns)])
                j += 1
            tables[str(title[0])] = pd.DataFrame(body, columns=columns)
            i = j
        sheets[sheet.title] = tables
    return sheets


def _key_of(label: str) -> str:
    from patrol.reports.model import COLUMN_LABELS

    reverse = {v: k for k, v in COLUMN_LABELS.items()}
    return reverse.get(label, label)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    settings = build_known_world(tmp_path_factory.mktemp("report") / "data")
    record = build_weekly_report(settings, KNOWN_WEEK, now=datetime(2026, 11, 23, 0, 30, tzinfo=UTC))
    sheets = {
        name: {title: frame.rename(columns=_key_of) for title, frame in tables.items()}
        for name, tables in xlsx_tables(record.path("xlsx")).items()  # type: ignore[arg-type]
    }
    html = record.path("html").read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert list_reports(settings)[0].week == "2026-W47"
    return Built(record, sheets, html, record.path("pdf"))  # type: ignore[arg-type]


def table(built: Built, sheet_prefix: str, title_prefix: str) -> pd.DataFrame:
    sheet = next(name for name in built.sheets if name.startswith(sheet_prefix))
    return next(frame for title, frame in built.sheets[sheet].items() if title.startswith(title_prefix))


def rows_by(frame: pd.DataFrame, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in frame.to_dict("records")}


# -- figures (from the XLSX: the numbers as written) --------------------------------------------


def test_headline_counts(built: Built) -> None:
    assert built.record.headline == {
        "posts": {"this_week": 28, "previous_week": 12},
        "flagged_posts": {"this_week": 6, "previous_week": 3},
        "review_items": {"this_week": 7, "previous_week": 3},
        "escalated": {"this_week": 5, "previous_week": 2},
        "confirmed": {"this_week": 3, "previous_week": 1},
    }
    headline = table(built, "1 ", "本周概况")
    assert list(headline["this_week"]) == [28, 6, 7, 5, 3]
    assert list(headline["previous_week"]) == [12, 3, 3, 2, 1]


def test_posts_per_day_by_source_against_previous_week(built: Built) -> None:
    daily = table(built, "2 ", "每日发布量")
    assert list(daily["date"]) == [f"2026-11-{d}" for d in range(16, 23)]
    # 00:05 Monday and 23:30 Sunday (local) are in the week; 00:10 the Monday after is not.
    assert list(daily["total"]) == [4, 4, 4, 4, 4, 5, 3]
    assert list(daily["forum-a"]) == [2, 3, 2, 2, 2, 0, 2]
    assert list(daily["weibo-b"]) == [2, 1, 2, 2, 2, 5, 1]
    assert list(daily["previous_week"]) == [2, 2, 2, 1, 2, 1, 2]
    by_source = rows_by(table(built, "2 ", "按来源"), "source")
    assert (by_source["forum-a"]["this_week"], by_source["forum-a"]["previous_week"]) == (13, 7)
    assert (by_source["weibo-b"]["this_week"], by_source["weibo-b"]["previous_week"]) == (15, 5)
    assert "retired-site" not in by_source  # disabled in the sources file


def test_flagged_posts_per_category(built: Built) -> None:
    categories = rows_by(table(built, "2 ", "按类别的预警帖子"), "category")
    counts = {
        c: (r["this_week"], r["previous_week"]) for c, r in categories.items() if r["this_week"] or r["previous_week"]
    }
    # F3 is flagged as fraud and as a public hazard: it counts in both.
    assert counts == {"fraud": (4, 1), "public_hazard": (2, 2), "self_harm": (1, 0)}
    assert categories["fraud"]["change_pct"] == 300.0


def test_top_and_rising_topics(built: Built) -> None:
    top = table(built, "3 ", "热点话题")
    assert list(top["topic"]) == ["供暖/暖气", "冰灯/冰雕", "堵车/路口", "退款"]
    assert list(top["posts"]) == [10, 6, 5, 4]
    assert list(top["baseline_per_week"]) == [2, 0, 5, 0.25]
    assert list(top["mean_sentiment"]) == [-0.5, 0.6, -0.2, -0.3]
    assert list(top["negative_share"]) == [1, 0, 0, 0]
    rising = table(built, "3 ", "上升话题")
    # new first (7 = (6+1)/(0+1)), then 5/1.25, then 11/3; the steady traffic topic is not rising.
    assert list(rising["topic"]) == ["冰灯/冰雕", "退款", "供暖/暖气"]
    assert list(rising["status"]) == ["新出现 new", "上升 rising", "上升 rising"]
    assert rising["growth"].iloc[2] == 5


def test_representative_posts_are_three_distinct_posts_of_the_topic(built: Built) -> None:
    ice = table(built, "3 ", "热点 冰灯/冰雕")
    assert list(ice["post_id"]) == ["weibo-b:w47-mon-ice", "forum-a:w47-wed-ice", "weibo-b:w47-thu-ice"]
    assert all(a.startswith("作者-") for a in ice["author"])  # pseudonyms, never 居民N


def test_sentiment_by_day(built: Built) -> None:
    days = rows_by(table(built, "4 ", "每日情感"), "date")
    monday, saturday = days["2026-11-16"], days["2026-11-21"]
    assert (monday["mean_sentiment"], monday["negative"], monday["positive"]) == (-0.125, 1, 1)
    assert (saturday["mean_sentiment"], saturday["negative"], saturday["posts"]) == (-0.12, 2, 5)


def test_places_by_unit_week_on_week(built: Built) -> None:
    units = rows_by(table(built, "5 ", "各辖区帖子"), "unit")
    heping = units["xf-heping"]
    assert (heping["this_week"], heping["previous_week"], heping["change"], heping["change_pct"]) == (
        8,
        2,
        6,
        300.0,
    )
    assert heping["flagged_posts"] == 3 and heping["unit_name"] == "和平路派出所"
    assert (units["ng-xuefu"]["this_week"], units["ng-xuefu"]["previous_week"]) == (5, 5)
    assert units["(none)"]["this_week"] == 15


def test_review_items_dismissals_and_escalations(built: Built) -> None:
    items = rows_by(table(built, "6 ", "预警条目"), "category")
    assert {c: (r["items"], r["life_safety"]) for c, r in items.items() if r["items"]} == {
        "fraud": (4, 0),
        "public_hazard": (2, 0),
        "self_harm": (1, 1),
    }
    reasons = rows_by(table(built, "6 ", "排除原因"), "reason")
    assert {r: v["items"] for r, v in reasons.items()} == {"false_positive": 1, "not_actionable": 1}
    escalations = rows_by(table(built, "6 ", "转核查(按类别)"), "category")
    assert {c: v["escalated"] for c, v in escalations.items() if v["escalated"]} == {
        "fraud": 2,
        "public_hazard": 2,
        "self_harm": 1,
    }
    by_unit = rows_by(table(built, "6 ", "转核查(按单位)"), "unit")
    assert {u: v["tasks"] for u, v in by_unit.items()} == {"xf-heping": 3, "ng-xuefu": 2}


def test_outcomes_and_precision(built: Built) -> None:
    outcomes = rows_by(table(built, "6 ", "核查结果"), "outcome")
    # includes the task opened in W46 and completed on the Monday of W47
    assert {o: v["tasks"] for o, v in outcomes.items()} == {
        "confirmed": 3,
        "unfounded": 1,
        "referred": 1,
        "unreachable": 1,
    }
    precision = rows_by(table(built, "6 ", "各类别准确率"), "category")
    assert precision["fraud"]["precision"] == 0.5
    assert precision["public_hazard"]["precision"] == 0.667
    assert precision["self_harm"]["verified"] == 0 and pd.isna(precision["self_harm"]["precision"])
    assert (precision["all"]["completed"], precision["all"]["verified"], precision["all"]["precision"]) == (
        6,
        5,
        0.6,
    )


def test_time_to_acknowledge_and_verify(built: Built) -> None:
    times = table(built, "6 ", "签收与核查用时")
    overall = {r["measure"]: r for r in times.to_dict("records") if r["category"] == "all"}
    # acknowledge: 2, 10, 20, 30, 90 min; verify: 40, 200, 300, 600, 600, 1000 min (linear interpolation)
    assert (
        overall["acknowledge"]["count"],
        overall["acknowledge"]["p50_minutes"],
        overall["acknowledge"]["p90_minutes"],
    ) == (5, 20, 66)
    assert (
        overall["verify"]["count"],
        overall["verify"]["p50_minutes"],
        overall["verify"]["p90_minutes"],
    ) == (6, 450, 800)
    assert overall["life_safety_acknowledge"]["p50_minutes"] == 4


def test_sla_breaches_by_unit(built: Built) -> None:
    breaches = rows_by(table(built, "6 ", "SLA"), "unit")
    heping, xuefu = breaches["xf-heping"], breaches["ng-xuefu"]
    assert (
        heping["breaches"],
        heping["task_acknowledge"],
        heping["task_dispatch"],
        heping["task_verify"],
    ) == (3, 1, 1, 1)
    assert (xuefu["breaches"], xuefu["task_acknowledge"]) == (1, 1)


def test_collection_coverage(built: Built) -> None:
    sources = rows_by(table(built, "7 ", "各来源采集情况"), "source")
    forum, weibo = sources["forum-a"], sources["weibo-b"]
    assert (forum["runs"], forum["failed_runs"], forum["errors"], forum["degraded_days"]) == (7, 2, 2, 2)
    assert (forum["crawled_items"], forum["error_kinds"]) == (25, "http_status")
    assert (weibo["runs"], weibo["failed_runs"], weibo["errors"], weibo["degraded_days"]) == (7, 0, 1, 1)
    days = rows_by(table(built, "7 ", "每日采集状态"), "source")
    assert days["forum-a"]["11-21"] == "失败 failed" and days["weibo-b"]["11-18"] == "有错误 errors"


def test_active_scheme_gets_a_section_and_expired_one_does_not(built: Built) -> None:
    names = list(built.sheets)
    assert any("冬季供暖" in n for n in names) and not any("国庆安保" in n for n in names)
    summary = rows_by(table(built, "8 ", "概况"), "metric")
    assert (summary["matches 命中帖子"]["this_week"], summary["matches 命中帖子"]["previous_week"]) == (10, 2)


def test_three_key_findings_with_numbers_and_examples(built: Built) -> None:
    findings = built.record.key_findings
    assert len(findings) == 3
    assert findings[0].startswith("本周线下核查属实 3 起")
    assert "生命安全类预警 1 条" in findings[1] and "4 分钟" in findings[1]
    assert "forum-a" in findings[2] and "2 天" in findings[2]
    summary_sheet = next(n for n in built.sheets if n.startswith("1 "))
    example_tables = [t for title, t in built.sheets[summary_sheet].items() if title[:2] in ("1.", "2.", "3.")]
    assert len(example_tables) == 3 and all(len(t) >= 1 for t in example_tables)
    assert set(example_tables[0]["post_id"]) == {"forum-a:H0b", "forum-a:F3"}


# -- crawled text is hostile ----------------------------------------------------------------------


def test_html_escapes_crawled_text_and_links_only_http(built: Built) -> None:
    assert "<script>alert(1)" not in built.html
    assert "&lt;script&gt;alert(1)&lt;/script" in built.html
    assert 'href="javascript:' not in built.html.lower()
    assert "default-src 'none'" in built.html
    assert 'href="http://forum-a.test/p/w47-wed-ice"' in built.html


def test_xlsx_writes_crawled_text_as_text_never_formulas(built: Built) -> None:
    workbook = load_workbook(built.record.path("xlsx"))  # type: ignore[arg-type]
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    hostile = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert hostile and all(c.data_type == "s" for c in hostile)
    assert HOSTILE_TITLE[:20] in str(hostile[0].value)


# -- the PDF ------------------------------------------------------------------------------------


def pdf_text(path: Path) -> str:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def test_pdf_has_headings_and_figures_and_no_replacement_characters(built: Built) -> None:
    text = pdf_text(built.pdf)
    assert "\ufffd" not in text
    for heading in (
        "概要 Summary",
        "发布量 Volume",
        "话题 Topics",
        "情感 Sentiment",
        "地点 Places",
        "风险与核查 Risk and verification",
        "采集覆盖 Collection coverage",
        "监测方案 Scheme: 冬季供暖",
    ):
        assert heading in text, heading
    for figure in (
        "本周线下核查属实 3 起",
        "供暖/暖气",
        "冰灯/冰雕",
        "和平路派出所",
        "+300.0%",
        "66.7%",
        "450",
        "800",
        "60.0%",
    ):
        assert figure in text, figure


def _embedded_fonts(path: Path) -> set[str]:
    from pypdf import PdfReader

    return {
        str(ref.get_object()["/BaseFont"]).split("+", 1)[-1]
        for page in PdfReader(path).pages
        for ref in page["/Resources"].get_object().get("/Font", {}).values()
    }


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (Debian poppler-utils) is not installed")
def test_pdf_embeds_only_the_cjk_font_and_it_has_every_character(built: Built) -> None:
    """Tofu happens when no font has a character: the renderer then falls back to another font
    (caught by the first check) or draws the font's empty box, whose text (through the PDF's
    ToUnicode map, read here by poppler) is a character the font lacks (caught by the second)."""
    font = find_cjk_font()
    embedded = _embedded_fonts(built.pdf)
    assert embedded and all(name.startswith(font.family.replace(" ", "-")) for name in embedded), embedded
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(built.pdf), "-"], check=True, capture_output=True, timeout=120
    ).stdout.decode("utf-8")
    covered = font_codepoints(font)
    missing = sorted({c for c in text if not c.isspace() and ord(c) not in covered})
    assert not missing, f"characters the font has no glyph for (tofu): {missing[:20]}"
    assert {"舆", "情", "周", "辖"} <= set(text)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (Debian poppler-utils) is not installed")
def test_pdf_pages_render_to_png_artifacts(built: Built) -> None:
    from PIL import Image

    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(built.pdf), str(ARTIFACTS / "page")], check=True, timeout=120)
    pages = sorted(ARTIFACTS.glob("page-*.png"))
    import pypdf

    assert len(pages) == len(pypdf.PdfReader(built.pdf).pages) >= 7
    for page in pages:
        with Image.open(page) as image:
            low, high = image.convert("L").getextrema()
            assert low < 100 and high > 200, f"{page.name} looks blank"
    shutil.copy(built.pdf, ARTIFACTS / built.pdf.name)
