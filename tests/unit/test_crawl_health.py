"""Source health in SQLite: recorded per pass, synced from report files, degraded on a jump in the
parse-failure rate, shown by `patrol sources`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from crawlers.health import judge, latest_health, record_pass, sync_reports
from crawlers.report import health_path, report_path
from patrol.cli import app
from patrol.schema import CrawlReport, SourceError

START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def report(pass_no: int, *, pages: int, bad: int = 0, source: str = "forum", ok: bool = True) -> CrawlReport:
    started = START + timedelta(hours=pass_no)
    return CrawlReport(
        source_id=source,
        pass_id=f"p{pass_no}",
        started_at=started,
        finished_at=started + timedelta(seconds=42),
        ok=ok,
        requests=pages + bad + 1,
        pages=pages,
        items=pages * 10,
        new_items=pages,
        errors=[SourceError(kind="bad_html", url=f"http://f/t{n}", message="no thread list") for n in range(bad)],
    )


def test_a_jump_in_parse_failures_marks_the_source_degraded_and_recovery_clears_it(tmp_path: Path) -> None:
    db = tmp_path / "patrol.db"
    for n in range(4):
        assert not record_pass(db, report(n, pages=20, bad=1)).degraded  # 5%: its usual rate
    redesign = record_pass(db, report(4, pages=2, bad=18))
    assert redesign.degraded and redesign.parse_failure_rate == 0.9
    assert "jumped to 90%" in redesign.degraded_reason and "usually 5%" in redesign.degraded_reason
    health = latest_health(db)["forum"]
    assert health.latest.pass_id == "p4" and health.latest.degraded and health.passes == 5
    assert health.last_success == START + timedelta(hours=4, seconds=42)
    assert not record_pass(db, report(5, pages=20)).degraded
    assert record_pass(db, report(5, pages=20)).pass_id == "p5"  # recording twice is an upsert
    assert latest_health(db)["forum"].passes == 6


def test_judge_thresholds() -> None:
    assert judge(0.5, [])[0]  # a new source failing half its pages
    assert not judge(0.1, [])[0]  # below the minimum rate
    assert not judge(0.6, [0.5, 0.55, 0.6])[0]  # always that bad: not a jump
    assert judge(0.45, [0.0, 0.05, 0.0])[0]


def test_reports_on_disk_are_synced_with_exact_error_counts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for n, (pages, bad) in enumerate([(10, 0), (1, 9)]):
        rep = report(n, pages=pages, bad=bad, source="bbs")
        path = report_path(data, rep.pass_id, rep.source_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rep.model_dump_json(), encoding="utf-8")
        side = {
            "kind": "discuz",
            "errors_by_kind": {"bad_html": bad * 30} if bad else {},
            "parse_failures": bad,
            "duration_s": 12.5,
        }
        health_path(data, rep.pass_id, rep.source_id).write_text(json.dumps(side), encoding="utf-8")
    db = tmp_path / "patrol.db"
    assert sync_reports(db, data) == 2
    assert sync_reports(db, data) == 0
    latest = latest_health(db)["bbs"].latest
    assert (latest.kind, latest.errors_by_kind, latest.duration_s, latest.degraded) == (
        "discuz",
        {"bad_html": 270},
        12.5,
        True,
    )


def test_patrol_sources_shows_health_and_marks_degraded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {id: forum, kind: discuz, start_urls: ['http://f.cn/forum.php']}\n"
        "  - {id: quiet, kind: feed, start_urls: ['http://q.cn/rss.xml']}\n",
        encoding="utf-8",
    )
    db = data / "patrol.db"
    record_pass(db, report(0, pages=20))
    record_pass(db, report(1, pages=1, bad=9))
    runner = CliRunner()
    result = runner.invoke(app, ["sources", "--json", "--data-dir", str(data), "--sources", str(sources)])
    assert result.exit_code == 0, result.output
    rows = {row["source_id"]: row for row in json.loads(result.output)["sources"]}
    assert rows["forum"]["status"] == "DEGRADED" and rows["forum"]["parse_failure_rate"] == 0.9
    assert rows["forum"]["errors_by_kind"] == {"bad_html": 9} and rows["forum"]["pages"] == 1
    assert rows["forum"]["last_success"] == "2026-11-28 11:00"  # Beijing time
    assert rows["quiet"]["status"] == "never run"
    shown = runner.invoke(app, ["sources", "--data-dir", str(data), "--sources", str(sources)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "DEGRADED" in shown.output and "site may have changed its layout" in shown.output
