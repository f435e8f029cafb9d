"""The weekly report DAG: it imports cleanly with the Monday 08:00 Asia/Shanghai schedule, and a real
`dag.test()` run over a demo pass builds the report under the data dir and announces it through the
notification outbox."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import REPO_ROOT

pytest.importorskip("airflow", reason="Airflow is the optional extra `airflow`; `make test` installs it")

DAG_FILE = REPO_ROOT / "dags" / "patrol_weekly_report.py"


def load_dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags["patrol_weekly_report"]


def test_dag_imports_with_a_monday_morning_shanghai_schedule() -> None:
    dag = load_dag()
    assert dag.timetable.serialize() == {
        "expression": "0 8 * * 1",
        "timezone": "Asia/Shanghai",
        "interval": 0.0,
        "run_immediately": False,
    }
    assert dag.catchup is False
    assert dag.start_date is not None and dag.start_date.utcoffset() is not None
    assert {t.task_id for t in dag.tasks} == {"build_report", "notify"}


@pytest.mark.slow
def test_dag_test_builds_and_announces_the_demo_week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.utils import db as airflow_db

    from crawlers.sources import load_sources
    from demo.server import DemoSite
    from patrol.config import load_settings
    from patrol.demo_sources import write_demo_sources
    from patrol.passes import run_pass
    from patrol.reports import list_reports
    from patrol.reports.notify import REPORT_TOPIC
    from patrol.runtime import Runtime
    from patrol.workflow.db import WorkflowDb
    from patrol.workflow.models import OutboxEvent

    data_dir = tmp_path / "data"
    with DemoSite(seed=7, threads=60) as site:  # its clock: 2026-11-28 10:00 +08:00, in W48
        sources_file = write_demo_sources(data_dir / "demo-sources.yaml", site.base_url, site.content)
        runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
        try:
            summary = run_pass(runtime, load_sources(sources_file))
        finally:
            runtime.close()
    assert summary.posts > 0
    monkeypatch.setenv("PATROL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PATROL_SOURCES_FILE", str(sources_file))

    airflow_db.initdb()
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    run = load_dag().test(logical_date=monday)
    assert str(run.state) in ("success", "DagRunState.SUCCESS"), run.state

    settings = load_settings(data_dir=data_dir)
    records = list_reports(settings)
    assert [r.week for r in records] == ["2026-W48"]
    record = records[0]
    assert Path(record.directory).is_relative_to(settings.reports_dir.resolve())
    assert sorted(f.format for f in record.files) == ["html", "pdf", "xlsx"]
    assert all((Path(record.directory) / f.name).stat().st_size == f.bytes for f in record.files)
    assert record.headline["posts"]["this_week"] > 0 and len(record.key_findings) == 3

    db = WorkflowDb(settings.workflow_url)
    try:
        with db.read_session() as session:
            events = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == REPORT_TOPIC)).all()
            assert [e.idempotency_key for e in events] == [f"{REPORT_TOPIC}:2026-W48"]
            assert json.loads(events[0].payload_json)["week"] == "2026-W48"
    finally:
        db.dispose()
