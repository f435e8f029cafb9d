"""What the desk and the field did, as pandas frames: review items, verification tasks, SLA breaches.

Rows are those that changed inside the report's window (opened, decided, accepted, completed or
breached in it), so a task opened last month and completed this week counts this week. Items and
tasks that such rows point at are loaded too, so every figure can link to the posts behind it.
Times stay UTC; the sections bucket them by local day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import ReviewItem, SlaBreach, VerificationTask

ITEM_COLUMNS = (
    "id",
    "category",
    "status",
    "life_safety",
    "first_post_id",
    "source_id",
    "jurisdiction",
    "created_at",
    "ack_due_at",
    "acknowledged_at",
    "dismiss_reason",
    "duplicate_of",
    "task_id",
    "resolved_at",
)
TASK_COLUMNS = (
    "id",
    "item_id",
    "category",
    "unit_id",
    "priority",
    "status",
    "outcome",
    "created_at",
    "assigned_at",
    "accepted_at",
    "started_at",
    "completed_at",
    "cancelled_at",
)
BREACH_COLUMNS = ("subject_type", "subject_id", "kind", "due_at", "detected_at", "unit_id")

_TIME_COLUMNS = frozenset(
    {
        "created_at",
        "ack_due_at",
        "acknowledged_at",
        "resolved_at",
        "assigned_at",
        "accepted_at",
        "started_at",
        "completed_at",
        "cancelled_at",
        "due_at",
        "detected_at",
    }
)


@dataclass(frozen=True)
class WorkflowFrames:
    items: pd.DataFrame
    tasks: pd.DataFrame
    breaches: pd.DataFrame


def workflow_frame(rows: Iterable[Iterable[object]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(columns))
    for column in columns:
        if column in _TIME_COLUMNS:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def empty_workflow() -> WorkflowFrames:
    return WorkflowFrames(
        workflow_frame([], ITEM_COLUMNS), workflow_frame([], TASK_COLUMNS), workflow_frame([], BREACH_COLUMNS)
    )


def _in_window(column: Any, since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(column >= since, column < until)


def _rows_by_id(session: Session, model: Any, columns: tuple[str, ...], ids: set[str]) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):  # stay under the bound-parameter limits of every backend
        chunk = ordered[start : start + 500]
        query = select(*(getattr(model, c) for c in columns)).where(model.id.in_(chunk))
        found.extend(tuple(row) for row in session.execute(query))
    return found


def load_workflow_frames(db: WorkflowDb, since: datetime, until: datetime) -> WorkflowFrames:
    item_query = select(*(getattr(ReviewItem, c) for c in ITEM_COLUMNS)).where(
        or_(
            _in_window(ReviewItem.created_at, since, until),
            _in_window(ReviewItem.resolved_at, since, until),
            _in_window(ReviewItem.acknowledged_at, since, until),
        )
    )
    task_query = select(*(getattr(VerificationTask, c) for c in TASK_COLUMNS)).where(
        or_(
            _in_window(VerificationTask.created_at, since, until),
            _in_window(VerificationTask.accepted_at, since, until),
            _in_window(VerificationTask.completed_at, since, until),
        )
    )
    breach_query = select(*(getattr(SlaBreach, c) for c in BREACH_COLUMNS)).where(
        _in_window(SlaBreach.detected_at, since, until)
    )
    with db.read_session() as session:
        breaches = [tuple(row) for row in session.execute(breach_query)]
        tasks = [tuple(row) for row in session.execute(task_query)]
        task_ids = {row[0] for row in tasks}
        breached_tasks = {row[1] for row in breaches if row[0] == "task"} - task_ids
        tasks += _rows_by_id(session, VerificationTask, TASK_COLUMNS, breached_tasks)
        items = [tuple(row) for row in session.execute(item_query)]
        item_ids = {row[0] for row in items}
        wanted = {row[1] for row in tasks} | {row[1] for row in breaches if row[0] == "item"}
        items += _rows_by_id(session, ReviewItem, ITEM_COLUMNS, wanted - item_ids)
    return WorkflowFrames(
        workflow_frame(items, ITEM_COLUMNS),
        workflow_frame(tasks, TASK_COLUMNS),
        workflow_frame(breaches, BREACH_COLUMNS),
    )
