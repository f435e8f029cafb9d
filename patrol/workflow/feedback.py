"""The feedback loop: decisions of the desk and the field as precision per category, rule and source.

Each review item gets a label from its outcome:

- dismissed: the reason's `feedback` in `dismiss_reasons.yaml` (false positive, true positive, or none);
- duplicate: the label of the item it duplicates;
- escalated: the task's outcome (confirmed or referred: true positive; unfounded: false positive;
  unreachable or cancelled: unknown; still open: pending);
- new or claimed: pending.

Precision = true positives / (true positives + false positives); items without a verdict are
counted but left out of it. A rule or source is credited once per item it contributed to.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.workflow.models import ReviewItem, ReviewItemPost, VerificationTask
from patrol.workflow.policy import DismissReasons

Label = Literal["true_positive", "false_positive", "pending", "unknown"]

OUTCOME_LABELS: dict[str, Label] = {
    "confirmed": "true_positive",
    "referred": "true_positive",
    "unfounded": "false_positive",
    "unreachable": "unknown",
}


class PrecisionRow(BaseModel):
    key: str
    items: int = 0
    true_positive: int = 0
    false_positive: int = 0
    pending: int = 0
    unknown: int = 0
    precision: float | None = Field(default=None, description="TP / (TP + FP); null until something was decided")

    def add(self, label: Label) -> None:
        self.items += 1
        setattr(self, label, getattr(self, label) + 1)

    def finish(self) -> PrecisionRow:
        decided = self.true_positive + self.false_positive
        self.precision = round(self.true_positive / decided, 4) if decided else None
        return self


class PrecisionReport(BaseModel):
    total: PrecisionRow
    by_category: list[PrecisionRow]
    by_rule: list[PrecisionRow]
    by_source: list[PrecisionRow]


def _own_label(item: ReviewItem, reasons: DismissReasons, task_status: dict[str, tuple[str, str | None]]) -> Label:
    if item.status in ("new", "claimed"):
        return "pending"
    if item.status == "dismissed":
        reason = next((r for r in reasons.reasons if r.code == item.dismiss_reason), None)
        if reason is None or reason.feedback == "none":
            return "unknown"
        return reason.feedback
    if item.status == "escalated":
        status, outcome = task_status.get(item.task_id or "", ("missing", None))
        if status in ("assigned", "accepted", "in_progress"):
            return "pending"
        if status == "completed" and outcome:
            return OUTCOME_LABELS.get(outcome, "unknown")
        return "unknown"
    return "unknown"


def item_labels(session: Session, reasons: DismissReasons, *, since: datetime | None = None) -> dict[str, Label]:
    query = select(ReviewItem)
    if since is not None:
        query = query.where(ReviewItem.created_at >= since)
    items = {item.id: item for item in session.scalars(query)}
    task_status = {
        task_id: (status, outcome)
        for task_id, status, outcome in session.execute(
            select(VerificationTask.id, VerificationTask.status, VerificationTask.outcome)
        ).tuples()
    }
    labels: dict[str, Label] = {}

    def label_of(item_id: str, depth: int = 0) -> Label:
        if item_id in labels:
            return labels[item_id]
        item = items.get(item_id)
        if item is None:
            original = session.get(ReviewItem, item_id)
            if original is None:
                return "unknown"
            items[item_id] = item = original
        if item.status == "duplicate" and item.duplicate_of and depth < 20:
            label = label_of(item.duplicate_of, depth + 1)
        else:
            label = _own_label(item, reasons, task_status)
        labels[item_id] = label
        return label

    for item_id in list(items):
        label_of(item_id)
    return {item_id: labels[item_id] for item_id in items if item_id in labels}


def _rules(evidence_json: str) -> Iterable[str]:
    try:
        evidence = json.loads(evidence_json)
    except json.JSONDecodeError:
        return []
    return {f"{e.get('signal', '?')}:{e.get('rule', '?')}" for e in evidence if isinstance(e, dict)}


def precision_stats(session: Session, reasons: DismissReasons, *, since: datetime | None = None) -> PrecisionReport:
    labels = item_labels(session, reasons, since=since)
    total = PrecisionRow(key="all")
    by_category: dict[str, PrecisionRow] = {}
    by_rule: dict[str, PrecisionRow] = {}
    by_source: dict[str, PrecisionRow] = {}
    rules_of: dict[str, set[str]] = defaultdict(set)
    sources_of: dict[str, set[str]] = defaultdict(set)
    if labels:
        rows = session.execute(
            select(ReviewItemPost.item_id, ReviewItemPost.source_id, ReviewItemPost.evidence_json)
        ).tuples()
        for item_id, source_id, evidence_json in rows:
            if item_id in labels:
                sources_of[item_id].add(source_id)
                rules_of[item_id].update(_rules(evidence_json))
    categories = dict(session.execute(select(ReviewItem.id, ReviewItem.category)).tuples().all())
    for item_id, label in labels.items():
        total.add(label)
        category = categories.get(item_id, "?")
        by_category.setdefault(category, PrecisionRow(key=category)).add(label)
        for rule in rules_of[item_id]:
            by_rule.setdefault(rule, PrecisionRow(key=rule)).add(label)
        for source in sources_of[item_id]:
            by_source.setdefault(source, PrecisionRow(key=source)).add(label)

    def ordered(rows: dict[str, PrecisionRow]) -> list[PrecisionRow]:
        return sorted((r.finish() for r in rows.values()), key=lambda r: (-r.items, r.key))

    return PrecisionReport(
        total=total.finish(),
        by_category=ordered(by_category),
        by_rule=ordered(by_rule),
        by_source=ordered(by_source),
    )
