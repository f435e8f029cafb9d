"""The writers: cells as people read them, crawled text that cannot inject markup or formulas,
charts that never draw a box for a missing glyph, and a clear error without a CJK font."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image

from patrol.reports.charts import ChartRenderer, font_safe
from patrol.reports.fonts import MissingCjkFont, find_cjk_font, font_codepoints
from patrol.reports.model import (
    ChartSpec,
    Finding,
    HeadlineFigure,
    Link,
    LinkList,
    Section,
    Table,
    WeeklyReport,
)
from patrol.reports.render_html import format_cell, is_safe_url, render_html
from patrol.reports.render_xlsx import render_xlsx, sheet_name
from patrol.reports.week import ReportWeek

EVIL = '=cmd|" /C calc"!A0<img src=x onerror=alert(1)>'


def report() -> WeeklyReport:
    link = Link(label=EVIL, url="javascript:alert(1)", source_id="forum-a", when="2026-11-16 10:00", author="作者-1")
    safe = Link(label="正常帖子", url="https://forum.test/t/1", source_id="forum-a")
    frame = pd.DataFrame({"topic": [EVIL, "供暖"], "posts": [np.int64(3), np.int64(10)], "share": [0.25, None]})
    section = Section(
        key="topics",
        title="话题 Topics",
        intro="<b>intro</b>",
        tables=[Table("t", "表 <i>", frame, note="note")],
        link_lists=[LinkList("例子", [link, safe])],
    )
    finding = Finding(key="x.y", headline="要点 <u>", weight=1, examples=[link])
    return WeeklyReport(
        week=ReportWeek(2026, 47),
        generated_at=datetime(2026, 11, 23, tzinfo=UTC),
        store="sqlite",
        headline=[HeadlineFigure("posts", "帖子", 3, 1)],
        key_findings=[finding],
        sections=[Section(key="summary", title="概要 Summary"), section],
    )


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("change_pct", 300.0, "+300.0%"),
        ("change_pct", -12.5, "-12.5%"),
        ("precision", 0.6667, "66.7%"),
        ("posts", np.int64(12), "12"),
        ("mean_sentiment", np.float64(-0.125), "-0.125"),
        ("p50_minutes", 450.0, "450"),
        ("precision", None, "—"),
        ("growth", float("nan"), "—"),
        ("topic", "供暖", "供暖"),
    ],
)
def test_cells_read_as_people_expect(column: str, value: object, shown: str) -> None:
    assert format_cell(column, value) == shown


def test_only_http_links_are_links() -> None:
    assert is_safe_url("https://forum.test/t/1") and is_safe_url("HTTP://forum.test/")
    assert not is_safe_url("javascript:alert(1)") and not is_safe_url("data:text/html,x")
    assert not is_safe_url('http://x.test/"onmouseover="alert(1)')


def test_html_escapes_everything_crawled() -> None:
    html = render_html(report(), [], find_cjk_font())
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>intro</b>" not in html and "<u>" not in html
    assert 'href="javascript' not in html and 'href="https://forum.test/t/1"' in html
    assert "Content-Security-Policy" in html


def test_xlsx_keeps_crawled_text_as_text_and_numbers_as_numbers(tmp_path: Path) -> None:
    target = tmp_path / "r.xlsx"
    render_xlsx(report(), target)
    sheet = load_workbook(target)["2 话题 Topics"]
    cells = {c.value: c for row in sheet.iter_rows() for c in row if c.value is not None}
    assert cells[EVIL].data_type == "s"
    assert not [c for c in cells.values() if c.data_type == "f"]
    assert isinstance(cells[10].value, int)
    assert "javascript:alert(1)" in cells and cells["javascript:alert(1)"].hyperlink is None
    assert cells["https://forum.test/t/1"].hyperlink is not None


def test_control_characters_are_dropped_from_xlsx(tmp_path: Path) -> None:
    bad = report()
    bad.sections[1].tables[0].frame.loc[1, "topic"] = "供\x00暖\x1b"
    render_xlsx(bad, tmp_path / "r.xlsx")
    values = [c.value for row in load_workbook(tmp_path / "r.xlsx")["2 话题 Topics"].iter_rows() for c in row]
    assert "供暖" in values


def test_sheet_names_fit_excel_rules() -> None:
    taken: set[str] = set()
    long = Section(key="s", title="监测方案 Scheme: 一个非常非常非常长的名字/带[非法]字符?")
    first, second = sheet_name(8, long, taken), sheet_name(8, long, taken)
    assert len(first) <= 31 and len(second) <= 31 and first != second
    assert not set("[]:*?/\\") & set(first + second)


def test_charts_draw_cjk_without_missing_glyphs() -> None:
    spec = ChartSpec(
        "c",
        "每日发布量 香坊 南岗",
        "stacked_bar",
        pd.DataFrame({"论坛": [1, 2], "微博": [3, 0]}, index=["周一", "周二"]),
        "帖子",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = ChartRenderer().render(spec)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size[0] > 500


def test_labels_with_characters_no_font_has_are_replaced_not_boxed() -> None:
    font = find_cjk_font()
    assert 0x0D9E not in font_codepoints(font)
    assert font_safe("供暖\u0d9e", font) == "供暖?"
    spec = ChartSpec("c", "话题 \u0d9e", "barh", pd.DataFrame({"本周": [3]}, index=["供暖\u0d9e"]))
    ChartRenderer(font).render(spec)  # would raise on a missing glyph


def test_without_a_cjk_font_the_error_says_what_to_install() -> None:
    with pytest.raises(MissingCjkFont, match="apt-get install fonts-noto-cjk"):
        find_cjk_font(("No Such Font Family",))
