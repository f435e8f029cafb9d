"""Verification tasks: a field unit checks on the ground what a review item reported.

States: `assigned` -> `accepted` -> `in_progress` -> `completed(outcome)` | `cancelled`; a task can
be cancelled from any open state, reassigned to another unit while open (back to `assigned`), and
reopened after it ended (back to `assigned`), each with a reason. The three SLA clocks
(acknowledge = accept, dispatch = start, verify = complete) start when the task enters `assigned`.

A field unit only ever sees its own unit's tasks: asking for another unit's task is answered
exactly like asking for a task that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from patrol.workflow.actors import Actor, Permission, require
from patrol.workflow.audit import record_audit
from patrol.workflow.errors import InvalidInput, NotFound, TransitionNotAllowed
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.ids import new_id
from patrol.workflow.models import EvidenceFile, ReviewItem, TaskFinding, VerificationTask
from patrol.workflow.outbox import enqueue_notification
from patrol.workflow.policy import WorkflowPolicy
from patrol.workflow.units import route_task

TASK_STATES = ("assigned", "accepted", "in_progress", "completed", "cancelled")
OPEN_TASK_STATES = ("assigned", "accepted", "in_progress")
OUTCOMES = ("confirmed", "unfounded", "referred", "unreachable")
ENTITY = "verification_task"


def task_state(task: VerificationTask) -> dict[str, Any]:
    return {
        "status": task.status,
        "unit_id": task.unit_id,
        "priority": task.priority,
        "outcome": task.outcome,
        "ack_due_at": task.ack_due_at,
        "dispatch_due_at": task.dispatch_due_at,
        "verify_due_at": task.verify_due_at,
    }


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    task: VerificationTask,
    before: dict[str, Any] | None,
    now: datetime,
    **extra: Any,
) -> None:
    record_audit(
        session,
        at=now,
        actor=actor,
        action=action,
        entity_type=ENTITY,
        entity_id=task.id,
        before=before,
        after=task_state(task) | extra,
    )


def _start_sla_clock(task: VerificationTask, policy: WorkflowPolicy, now: datetime) -> None:
    target = policy.sla.target(task.category, task.priority)
    task.assigned_at = now
    task.ack_due_at = now + timedelta(minutes=target.acknowledge)
    task.dispatch_due_at = now + timedelta(minutes=target.dispatch)
    task.verify_due_at = now + timedelta(minutes=target.verify)


def _notify_assigned(session: Session, task: VerificationTask, now: datetime, *, why: str) -> None:
    enqueue_notification(
        session,
        topic="task.assigned",
        key=f"task.assigned:{task.id}:{task.unit_id}:{task.assigned_at.isoformat()}",
        payload={
            "task_id": task.id,
            "item_id": task.item_id,
            "category": task.category,
            "unit_id": task.unit_id,
            "priority": task.priority,
            "why": why,
            "ack_due_at": task.ack_due_at.isoformat(),
            "summary": f"{task.priority} {task.category} task {task.id} for {task.unit_id}",
        },
        at=now,
        unit_id=task.unit_id,
    )


def create_task(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    item: ReviewItem,
    *,
    now: datetime,
    unit: str | None = None,
    priority: str | None = None,
    instructions: str | None = None,
) -> VerificationTask:
    """A new task for an item being escalated (called by `items.escalate_item`)."""
    route = route_task(policy.units, item.jurisdiction, override=unit, fallback=policy.routing.fallback_unit)
    chosen = priority or policy.sla.priority_for(item.category)
    policy.sla.target(item.category, chosen)  # validates the priority
    task = VerificationTask(
        id=new_id("vt"),
        item_id=item.id,
        category=item.category,
        unit_id=route.unit_id,
        routed_by=route.routed_by,
        priority=chosen,
        status="assigned",
        instructions=(instructions or "").strip() or None,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        reopen_count=0,
    )
    _start_sla_clock(task, policy, now)
    session.add(task)
    session.flush()
    _audit(session, actor, "task.created", task, None, now, item_id=item.id, routed_by=route.routed_by)
    _notify_assigned(session, task, now, why="escalated")
    return task


# -- reading ------------------------------------------------------------------------------------


def _visible(task: VerificationTask | None, actor: Actor, task_id: str) -> VerificationTask:
    # The same answer for "not yours" as for "does not exist": a unit learns nothing of others' work.
    if task is None or (actor.is_field_unit and task.unit_id != actor.unit_id):
        raise NotFound(f"no verification task {task_id}")
    return task


def _load_locked(session: Session, actor: Actor, task_id: str) -> VerificationTask:
    task = session.scalars(
        select(VerificationTask)
        .where(VerificationTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    return _visible(task, actor, task_id)


def get_task(
    session: Session, actor: Actor, task_id: str, *, now: datetime, audit_view: bool = True
) -> VerificationTask:
    """A task with its findings and evidence; viewing it is recorded in the audit log."""
    require(actor, Permission.TASKS_READ)
    task = session.scalars(
        select(VerificationTask)
        .where(VerificationTask.id == task_id)
        .options(selectinload(VerificationTask.findings), selectinload(VerificationTask.evidence_files))
    ).one_or_none()
    task = _visible(task, actor, task_id)
    if audit_view:
        record_audit(session, at=now, actor=actor, action="task.viewed", entity_type=ENTITY, entity_id=task.id)
    return task


def list_tasks(
    session: Session,
    actor: Actor,
    *,
    statuses: Iterable[str] = OPEN_TASK_STATES,
    unit: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[VerificationTask], int]:
    """Open tasks by default, most urgent deadline first; a field unit gets only its own."""
    require(actor, Permission.TASKS_READ)
    wanted = list(statuses)
    unknown = sorted(set(wanted) - set(TASK_STATES))
    if unknown:
        raise InvalidInput(f"unknown task states {unknown}; use {list(TASK_STATES)}")
    conditions: list[Any] = [VerificationTask.status.in_(wanted)]
    if actor.is_field_unit:
        conditions.append(VerificationTask.unit_id == actor.unit_id)
    elif unit:
        conditions.append(VerificationTask.unit_id == unit)
    total = session.scalar(select(func.count()).select_from(VerificationTask).where(*conditions)) or 0
    tasks = session.scalars(
        select(VerificationTask)
        .where(*conditions)
        .order_by(VerificationTask.verify_due_at, VerificationTask.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(tasks), total


# -- the field unit's steps ---------------------------------------------------------------------


def _step(session: Session, actor: Actor, task_id: str, *, allowed: tuple[str, ...], verb: str) -> VerificationTask:
    require(actor, Permission.TASKS_WORK)
    task = _load_locked(session, actor, task_id)
    if task.status not in allowed:
        raise TransitionNotAllowed(
            f"task {task_id} is {task.status}; it can be {verb} only when {' or '.join(allowed)}"
        )
    return task


def accept_task(session: Session, actor: Actor, task_id: str, *, now: datetime) -> VerificationTask:
    task = _step(session, actor, task_id, allowed=("assigned",), verb="accepted")
    before = task_state(task)
    task.status, task.accepted_at, task.accepted_by, task.updated_at = "accepted", now, actor.username, now
    _audit(session, actor, "task.accepted", task, before, now)
    return task


def start_task(session: Session, actor: Actor, task_id: str, *, now: datetime) -> VerificationTask:
    task = _step(session, actor, task_id, allowed=("accepted",), verb="started")
    before = task_state(task)
    task.status, task.started_at, task.updated_at = "in_progress", now, now
    _audit(session, actor, "task.started", task, before, now)
    return task


def complete_task(
    session: Session, actor: Actor, task_id: str, *, outcome: str, note: str | None, now: datetime
) -> VerificationTask:
    if outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}; use one of {list(OUTCOMES)}")
    task = _step(session, actor, task_id, allowed=("in_progress",), verb="completed")
    before = task_state(task)
    task.status, task.outcome, task.outcome_note = "completed", outcome, (note or "").strip() or None
    task.completed_at, task.completed_by, task.updated_at = now, actor.username, now
    _audit(session, actor, "task.completed", task, before, now)
    enqueue_notification(
        session,
        topic="task.completed",
        key=f"task.completed:{task.id}:{now.isoformat()}",
        payload={
            "task_id": task.id,
            "item_id": task.item_id,
            "category": task.category,
            "unit_id": task.unit_id,
            "outcome": outcome,
            "summary": f"task {task.id} completed: {outcome}",
        },
        at=now,
        unit_id=task.unit_id,
    )
    return task


def add_finding(session: Session, actor: Actor, task_id: str, *, text: str, now: datetime) -> TaskFinding:
    text = text.strip()
    if not text:
        raise InvalidInput("a finding needs text")
    task = _step(session, actor, task_id, allowed=OPEN_TASK_STATES, verb="given findings")
    finding = TaskFinding(id=new_id("fd"), task_id=task.id, author=actor.username, text=text, created_at=now)
    session.add(finding)
    task.updated_at = now
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="task.finding_added",
        entity_type=ENTITY,
        entity_id=task.id,
        after={"finding_id": finding.id, "text": text},
    )
    return finding


def add_evidence(
    session: Session,
    store: EvidenceStore,
    actor: Actor,
    task_id: str,
    *,
    filename: str,
    chunks: Iterable[bytes],
    now: datetime,
) -> EvidenceFile:
    """Store a file for the task (type checked from its bytes, size limited) and record its SHA-256."""
    task = _step(session, actor, task_id, allowed=OPEN_TASK_STATES, verb="given evidence")
    blob = store.save(chunks)
    safe_name = (filename or "evidence").replace("/", "_").replace("\\", "_")[:255] or "evidence"
    evidence = EvidenceFile(
        id=new_id("ef"),
        task_id=task.id,
        filename=safe_name,
        content_type=blob.content_type,
        size=blob.size,
        sha256=blob.sha256,
        uploaded_by=actor.username,
        uploaded_at=now,
    )
    session.add(evidence)
    task.updated_at = now
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="task.evidence_added",
        entity_type=ENTITY,
        entity_id=task.id,
        after={
            "evidence_id": evidence.id,
            "filename": safe_name,
            "sha256": blob.sha256,
            "size": blob.size,
            "content_type": blob.content_type,
        },
    )
    return evidence


def read_evidence(
    session: Session, store: EvidenceStore, actor: Actor, task_id: str, evidence_id: str, *, now: datetime
) -> tuple[EvidenceFile, bytes]:
    """The file's bytes, after checking them against the recorded SHA-256; the read is audited."""
    require(actor, Permission.TASKS_READ)
    task = _visible(session.get(VerificationTask, task_id), actor, task_id)
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.task_id != task.id:
        raise NotFound(f"no evidence {evidence_id} on task {task_id}")
    data = store.read_verified(evidence.sha256)
    record_audit(
        session,
        at=now,
        actor=actor,
        action="task.evidence_viewed",
        entity_type=ENTITY,
        entity_id=task.id,
        after={"evidence_id": evidence.id, "sha256": evidence.sha256},
    )
    return evidence, data


# -- the supervisor's steps ---------------------------------------------------------------------


def _manage(session: Session, actor: Actor, task_id: str) -> VerificationTask:
    require(actor, Permission.TASKS_MANAGE)
    return _load_locked(session, actor, task_id)


def _need_reason(reason: str | None, verb: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"{verb} a task needs a reason")
    return text


def cancel_task(session: Session, actor: Actor, task_id: str, *, reason: str, now: datetime) -> VerificationTask:
    text = _need_reason(reason, "cancelling")
    task = _manage(session, actor, task_id)
    if task.status not in OPEN_TASK_STATES:
        raise TransitionNotAllowed(f"task {task_id} is {task.status}; only open tasks can be cancelled")
    before = task_state(task)
    task.status, task.cancelled_at, task.cancel_reason, task.updated_at = "cancelled", now, text, now
    _audit(session, actor, "task.cancelled", task, before, now, reason=text)
    enqueue_notification(
        session,
        topic="task.cancelled",
        key=f"task.cancelled:{task.id}:{now.isoformat()}",
        payload={
            "task_id": task.id,
            "unit_id": task.unit_id,
            "reason": text,
            "summary": f"task {task.id} cancelled",
        },
        at=now,
        unit_id=task.unit_id,
    )
    return task


def reassign_task(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    task_id: str,
    *,
    unit: str,
    reason: str,
    now: datetime,
) -> VerificationTask:
    text = _need_reason(reason, "reassigning")
    policy.units.get(unit)
    task = _manage(session, actor, task_id)
    if task.status not in OPEN_TASK_STATES:
        raise TransitionNotAllowed(f"task {task_id} is {task.status}; reopen it instead of reassigning")
    if unit == task.unit_id:
        raise InvalidInput(f"task {task_id} is already with {unit}")
    before = task_state(task)
    task.unit_id, task.routed_by, task.status = unit, "override", "assigned"
    task.accepted_at = task.accepted_by = task.started_at = None
    task.updated_at = now
    _start_sla_clock(task, policy, now)
    _audit(session, actor, "task.reassigned", task, before, now, reason=text)
    _notify_assigned(session, task, now, why="reassigned")
    return task


def reopen_task(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    task_id: str,
    *,
    reason: str,
    now: datetime,
    unit: str | None = None,
) -> VerificationTask:
    text = _need_reason(reason, "reopening")
    if unit is not None:
        policy.units.get(unit)
    task = _manage(session, actor, task_id)
    if task.status in OPEN_TASK_STATES:
        raise TransitionNotAllowed(f"task {task_id} is {task.status}, still open; there is nothing to reopen")
    before = task_state(task)
    if unit is not None and unit != task.unit_id:
        task.unit_id, task.routed_by = unit, "override"
    task.status = "assigned"
    task.outcome = task.outcome_note = None
    task.accepted_at = task.accepted_by = task.started_at = None
    task.completed_at = task.completed_by = task.cancelled_at = task.cancel_reason = None
    task.reopen_count += 1
    task.updated_at = now
    _start_sla_clock(task, policy, now)
    _audit(session, actor, "task.reopened", task, before, now, reason=text)
    _notify_assigned(session, task, now, why="reopened")
    return task


def set_priority(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    task_id: str,
    *,
    priority: str,
    reason: str,
    now: datetime,
) -> VerificationTask:
    """Change the priority; deadlines are recomputed from when the task was assigned."""
    text = _need_reason(reason, "reprioritising")
    task = _manage(session, actor, task_id)
    target = policy.sla.target(task.category, priority)
    if task.status not in OPEN_TASK_STATES:
        raise TransitionNotAllowed(f"task {task_id} is {task.status}; only open tasks can be reprioritised")
    before = task_state(task)
    task.priority = priority
    task.ack_due_at = task.assigned_at + timedelta(minutes=target.acknowledge)
    task.dispatch_due_at = task.assigned_at + timedelta(minutes=target.dispatch)
    task.verify_due_at = task.assigned_at + timedelta(minutes=target.verify)
    task.updated_at = now
    _audit(session, actor, "task.priority_changed", task, before, now, reason=text)
    return task


def task_summary(task: VerificationTask) -> dict[str, Any]:
    """A compact dict of the task (handover summaries, notifications)."""
    return json.loads(
        json.dumps(
            task_state(task) | {"id": task.id, "item_id": task.item_id, "category": task.category},
            default=str,
        )
    )
