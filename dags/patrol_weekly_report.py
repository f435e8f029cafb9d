"""The weekly opinion-trend report, every Monday 08:00 Asia/Shanghai, for the ISO week that just ended.

Builds HTML, PDF and XLSX under `<data_dir>/reports/weekly/<week>/` (the same function as
`patrol report weekly`), then announces it through the workflow's notification outbox (topic
`report.weekly`, once per week however often a run is repeated). Trigger with conf
`{"week": "2026-W47"}` to (re)build another week. Thin on purpose: project code is imported inside
the tasks, so parsing this file stays cheap for the DAG processor.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

LOCAL = ZoneInfo("Asia/Shanghai")


@dag(
    dag_id="patrol_weekly_report",
    schedule=CronTriggerTimetable("0 8 * * 1", timezone="Asia/Shanghai"),
    start_date=datetime(2026, 1, 5, 8, 0, tzinfo=LOCAL),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    params={"week": Param(None, type=["null", "string"], description="ISO week to build, e.g. 2026-W47")},
    tags=["patrol", "report"],
    doc_md=__doc__,
)
def patrol_weekly_report() -> None:
    @task
    def build_report() -> dict[str, Any]:
        from patrol.config import load_settings
        from patrol.reports import ReportWeek, build_weekly_report

        context = get_current_context()
        chosen = context["params"].get("week")
        # A scheduled run's logical date is its Monday 08:00; a manual run may have none.
        moment = context.get("logical_date") or context["dag_run"].run_after
        week = ReportWeek.parse(chosen) if chosen else ReportWeek.last_complete(moment)
        return build_weekly_report(load_settings(), week).model_dump(mode="json")

    @task
    def notify(record: dict[str, Any]) -> str | None:
        from patrol.config import load_settings
        from patrol.reports.archive import ReportRecord
        from patrol.reports.notify import notify_report_ready
        from patrol.schema import utcnow
        from patrol.workflow.db import WorkflowDb

        db = WorkflowDb(load_settings().workflow_url)
        try:
            return notify_report_ready(db, ReportRecord.model_validate(record), now=utcnow())
        finally:
            db.dispose()

    notify(build_report())


patrol_weekly_report()
