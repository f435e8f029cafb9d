"""Telling people a weekly report is ready, through the workflow's transactional outbox.

The topic `report.weekly` is declared with the others in `patrol.workflow.outbox.TOPICS`, so
channels can subscribe to `report.*`.
"""

from __future__ import annotations

from datetime import datetime

from patrol.reports.archive import ReportRecord
from patrol.workflow.db import WorkflowDb
from patrol.workflow.outbox import TOPICS, enqueue_notification

REPORT_TOPIC = "report.weekly"

assert REPORT_TOPIC in TOPICS  # the outbox owns the list of topics


def notify_report_ready(db: WorkflowDb, record: ReportRecord, *, now: datetime) -> str | None:
    """Queue the notification; the event id, or None when this week's report was already announced."""
    posts = record.headline.get("posts", {}).get("this_week", 0)
    payload = {
        "week": record.week,
        "period_start": record.period_start.isoformat(),
        "period_end": record.period_end.isoformat(),
        "directory": record.directory,
        "files": {f.format: f.name for f in record.files},
        "headline": record.headline,
        "key_findings": record.key_findings,
        "summary": f"weekly report {record.week} ready: {posts} posts; " + " | ".join(record.key_findings[:1]),
    }
    with db.session() as session:
        # One announcement per week: re-running the DAG for a week rebuilds the files, not the news.
        event = enqueue_notification(
            session, topic=REPORT_TOPIC, key=f"{REPORT_TOPIC}:{record.week}", payload=payload, at=now
        )
        return event.id if event is not None else None
