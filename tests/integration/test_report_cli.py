"""`patrol report weekly` and `patrol report list` on the known world (Excel only, to stay fast),
with the notification written to the workflow's outbox once per week."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from patrol.commands.report import app
from patrol.reports.notify import REPORT_TOPIC
from patrol.reports.testing import build_known_world
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import OutboxEvent

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report-cli") / "data"
    build_known_world(path)
    return path


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    # The known world's sources file is not the default one: point the settings at it.
    env = {"PATROL_SOURCES_FILE": str(data_dir / "sources.yaml")}
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    return result.exit_code, result.output


def test_weekly_builds_the_chosen_formats_and_announces_the_report_once(data_dir: Path) -> None:
    code, output = run(data_dir, "weekly", "--week", "2026-W47", "--format", "xlsx", "--notify", "--json")
    assert code == 0, output
    built = json.loads(output[output.index("{") :])
    assert [f["format"] for f in built["files"]] == ["xlsx"]
    assert built["headline"]["posts"] == {"this_week": 28, "previous_week": 12}
    assert built["notification"] is not None
    assert Path(built["directory"]) == (data_dir / "reports" / "weekly" / "2026-W47").resolve()

    code, output = run(data_dir, "weekly", "--week", "2026-W47", "--format", "xlsx", "--notify", "--json")
    assert code == 0 and json.loads(output[output.index("{") :])["notification"] is None
    db = WorkflowDb(f"sqlite:///{data_dir / 'patrol.db'}")
    try:
        with db.read_session() as session:
            events = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == REPORT_TOPIC)).all()
            assert len(events) == 1
            payload = json.loads(events[0].payload_json)
    finally:
        db.dispose()
    assert payload["week"] == "2026-W47" and payload["files"] == {"xlsx": "patrol-weekly-2026-W47.xlsx"}
    assert len(payload["key_findings"]) == 3


def test_list_shows_built_reports_newest_first(data_dir: Path, tmp_path: Path) -> None:
    code, output = run(data_dir, "weekly", "--week", "2026-W46", "--format", "xlsx", "--out", str(tmp_path / "w46"))
    assert code == 0, output
    code, output = run(data_dir, "weekly", "--week", "2026-W45", "--format", "xlsx")
    assert code == 0, output
    code, output = run(data_dir, "list", "--json")
    weeks = [r["week"] for r in json.loads(output)]
    # --out writes elsewhere: only reports under the data dir are listed
    assert code == 0 and weeks[:2] == ["2026-W47", "2026-W45"] and "2026-W46" not in weeks


def test_a_week_without_data_still_builds_and_says_why_it_is_quiet(data_dir: Path, tmp_path: Path) -> None:
    code, output = run(
        data_dir, "weekly", "--week", "2026-W10", "--format", "html,xlsx", "--out", str(tmp_path), "--json"
    )
    assert code == 0, output
    built = json.loads(output[output.index("{") :])
    assert built["headline"]["posts"] == {"this_week": 0, "previous_week": 0}
    assert built["key_findings"] == ["本周没有采集运行记录,各项数字不能说明辖区平静 — no crawl runs recorded this week"]
    assert "本周无数据" in (tmp_path / "patrol-weekly-2026-W10.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("weekly", "--week", "2026-47"), "2026-W47"),
        (("weekly", "--week", "2026-W60"), "52 or 53 weeks"),
        (("weekly", "--week", "2026-W47", "--format", "docx"), "html,pdf,xlsx"),
    ],
)
def test_bad_arguments_say_what_to_type(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    code, output = run(data_dir, *args)
    assert code == 2 and message in " ".join(output.split())


def test_no_database_says_to_run_a_pass_first(tmp_path: Path) -> None:
    code, output = run(tmp_path / "empty", "weekly", "--week", "2026-W47", "--format", "xlsx")
    assert code == 2 and "run a pass first" in " ".join(output.split())


def test_list_without_reports(tmp_path: Path) -> None:
    code, output = run(tmp_path, "list")
    assert code == 0 and "no reports yet" in output
