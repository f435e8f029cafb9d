"""SLA breach detection and escalation to the duty supervisor.

`detect_breaches` (run by the worker every tick) finds deadlines that passed with the step not
done: task acknowledge / dispatch / verify, the acknowledgement of a life-safety item, and the
acknowledgement of a handover. Each missed deadline is recorded once (a unique row per subject,
kind and deadline), written to the audit log, and paged to the duty supervisor through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.workflow.actors import SYSTEM
from patrol.workflow.audit import record_audit
from patrol.workflow.models import Handover, ReviewItem, ShiftAssignment, SlaBreach, User, VerificationTask
from patrol.workflow.outbox import enqueue_notification
from patrol.workflow.policy import WorkflowPolicy
from patrol.workflow.shifts import duty_supervisor

#: (deadline column, the states in which the step is still not done)
TASK_DEADLINES: dict[str, tuple[str, tuple[str, ...]]] = {
    "acknowledge": ("ack_due_at", ("assigned",)),
    "dispatch": ("dispatch_due_at", ("assigned", "accepted")),
    "verify": ("verify_due_at", ("assigned", "accepted", "in_progress")),
}


_AUDIT_ENTITY = {"item": "review_item", "task": "verification_task", "handover": "handover"}


@dataclass(frozen=True)
class Breach:
    subject_type: str
    subject_id: str
    kind: str
    due_at: datetime
    escalated_to: str | None


def _already(session: Session, subject_type: str, subject_id: str, kind: str, due_at: datetime) -> bool:
    return (
        session.scalar(
            select(SlaBreach.id).where(
                SlaBreach.subject_type == subject_type,
                SlaBreach.subject_id == subject_id,
                SlaBreach.kind == kind,
                SlaBreach.due_at == due_at,
            )
        )
        is not None
    )


def _escalate(
    session: Session,
    supervisor: User | None,
    *,
    subject_type: str,
    subject_id: str,
    kind: str,
    due_at: datetime,
    now: datetime,
    unit_id: str | None,
    topic: str,
    payload: dict[str, Any],
) -> Breach:
    escalated_to = supervisor.username if supervisor else None
    session.add(
        SlaBreach(
            subject_type=subject_type,
            subject_id=subject_id,
            kind=kind,
            due_at=due_at,
            detected_at=now,
            escalated_to=escalated_to,
            unit_id=unit_id,
        )
    )
    session.flush()
    record_audit(
        session,
        at=now,
        actor=SYSTEM,
        action=f"{subject_type}.sla_breached",
        entity_type=_AUDIT_ENTITY[subject_type],
        entity_id=subject_id,
        after={"kind": kind, "due_at": due_at, "escalated_to": escalated_to},
    )
    late = int((now - due_at).total_seconds() // 60)
    enqueue_notification(
        session,
        topic=topic,
        key=f"{topic}:{subject_id}:{kind}:{due_at.isoformat()}",
        payload=payload
        | {"kind": kind, "due_at": due_at.isoformat(), "minutes_late": late, "duty_supervisor": escalated_to},
        at=now,
        unit_id=unit_id,
        recipient_email=supervisor.email if supervisor else None,
    )
    return Breach(subject_type, subject_id, kind, due_at, escalated_to)


def detect_breaches(session: Session, policy: WorkflowPolicy, *, now: datetime) -> list[Breach]:
    supervisor = duty_supervisor(session, policy.roster, now)
    found: list[Breach] = []
    for kind, (column_name, pending_states) in TASK_DEADLINES.items():
        column = getattr(VerificationTask, column_name)
        overdue = session.scalars(
            select(VerificationTask)
            .where(VerificationTask.status.in_(pending_states), column <= now)
            .order_by(VerificationTask.id)
            .with_for_update(skip_locked=True)
        ).all()
        for task in overdue:
            due_at = getattr(task, column_name)
            if _already(session, "task", task.id, kind, due_at):
                continue
            task.escalated_to = supervisor.username if supervisor else task.escalated_to
            found.append(
                _escalate(
                    session,
                    supervisor,
                    subject_type="task",
                    subject_id=task.id,
                    kind=kind,
                    due_at=due_at,
                    now=now,
                    unit_id=task.unit_id,
                    topic="task.sla_breached",
                    payload={
                        "task_id": task.id,
                        "item_id": task.item_id,
                        "category": task.category,
                        "unit_id": task.unit_id,
                        "priority": task.priority,
                        "status": task.status,
                        "summary": f"task {task.id} missed its {kind} target",
                    },
                )
            )
    unacknowledged = session.scalars(
        select(ReviewItem)
        .where(
            ReviewItem.life_safety.is_(True),
            ReviewItem.acknowledged_at.is_(None),
            ReviewItem.ack_due_at <= now,
            ReviewItem.status.in_(("new", "claimed")),
        )
        .order_by(ReviewItem.id)
        .with_for_update(skip_locked=True)
    ).all()
    for item in unacknowledged:
        assert item.ack_due_at is not None
        if _already(session, "item", item.id, "acknowledge", item.ack_due_at):
            continue
        found.append(
            _escalate(
                session,
                supervisor,
                subject_type="item",
                subject_id=item.id,
                kind="acknowledge",
                due_at=item.ack_due_at,
                now=now,
                unit_id=item.jurisdiction,
                topic="item.ack_breached",
                payload={
                    "item_id": item.id,
                    "category": item.category,
                    "jurisdiction": item.jurisdiction,
                    "summary": f"life-safety item {item.id} ({item.category}) not acknowledged",
                },
            )
        )
    # Only a handover someone is rostered to receive can be late; an unstaffed desk is not chased.
    staffed_next = select(ShiftAssignment.id).where(ShiftAssignment.shift_id == Handover.next_shift_id).exists()
    handovers = session.scalars(
        select(Handover)
        .where(Handover.acknowledged_at.is_(None), Handover.ack_due_at <= now, staffed_next)
        .order_by(Handover.id)
        .with_for_update(skip_locked=True)
    ).all()
    for handover in handovers:
        if _already(session, "handover", handover.id, "acknowledge", handover.ack_due_at):
            continue
        found.append(
            _escalate(
                session,
                supervisor,
                subject_type="handover",
                subject_id=handover.id,
                kind="acknowledge",
                due_at=handover.ack_due_at,
                now=now,
                unit_id=None,
                topic="handover.ack_breached",
                payload={
                    "handover_id": handover.id,
                    "shift_id": handover.shift_id,
                    "summary": f"handover {handover.id} not acknowledged",
                },
            )
        )
    return found


def list_breaches(session: Session, *, since: datetime | None = None, limit: int = 100) -> list[SlaBreach]:
    query = select(SlaBreach)
    if since is not None:
        query = query.where(SlaBreach.detected_at >= since)
    return list(session.scalars(query.order_by(SlaBreach.detected_at.desc(), SlaBreach.id.desc()).limit(limit)))
