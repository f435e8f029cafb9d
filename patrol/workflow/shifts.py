"""Shifts of the 24-hour rota, the handover between them, and who the duty supervisor is.

The pattern (default three 8-hour shifts) comes from `roster.yaml`; who works which shift is kept in
the database. When a shift ends (`run_shift_changes`, called by the worker), its handover is written:
open items and tasks, life-safety items, SLA breaches during the shift and the shift's notes. The
claims of people going off shift return to the queue, and an incoming officer acknowledges the
handover, which is itself on a timer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.workflow.actors import SYSTEM, Actor, Permission, Role, require
from patrol.workflow.audit import record_audit
from patrol.workflow.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from patrol.workflow.ids import new_id
from patrol.workflow.items import OPEN_STATES, release_claims_of
from patrol.workflow.models import (
    Handover,
    ReviewItem,
    Shift,
    ShiftAssignment,
    ShiftNote,
    SlaBreach,
    User,
    VerificationTask,
)
from patrol.workflow.outbox import enqueue_notification
from patrol.workflow.policy import RosterPolicy, WorkflowPolicy
from patrol.workflow.tasks import OPEN_TASK_STATES

DUTIES = ("officer", "supervisor")
_SUMMARY_LIMIT = 200


@dataclass(frozen=True)
class ShiftSlot:
    id: str
    name: str
    starts_at: datetime
    ends_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
        }


def _starts_around(roster: RosterPolicy, day: date) -> list[tuple[datetime, str, date]]:
    starts = []
    for offset in (-1, 0, 1, 2):
        local_day = day + timedelta(days=offset)
        for shift in roster.shifts:
            hours, minutes = divmod(shift.start_minutes, 60)
            start = datetime.combine(local_day, time(hours, minutes), tzinfo=roster.zone).astimezone(UTC)
            starts.append((start, shift.name, local_day))
    return sorted(starts)


def shift_at(roster: RosterPolicy, moment: datetime) -> ShiftSlot:
    """The shift running at `moment`."""
    starts = _starts_around(roster, moment.astimezone(roster.zone).date())
    for (start, name, day), (next_start, _, _) in pairwise(starts):
        if start <= moment < next_start:
            return ShiftSlot(f"{day.isoformat()}.{name}", name, start, next_start)
    raise AssertionError("a roster with at least one shift covers every moment")


def next_shift(roster: RosterPolicy, slot: ShiftSlot) -> ShiftSlot:
    return shift_at(roster, slot.ends_at)


def previous_shift(roster: RosterPolicy, slot: ShiftSlot) -> ShiftSlot:
    return shift_at(roster, slot.starts_at - timedelta(microseconds=1))


def shift_by_id(roster: RosterPolicy, shift_id: str) -> ShiftSlot:
    """`2026-11-27.day` -> that shift; the date is the local date the shift starts on."""
    day_text, _, name = shift_id.partition(".")
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        day = None
    definition = next((s for s in roster.shifts if s.name == name), None)
    if day is None or definition is None:
        names = [s.name for s in roster.shifts]
        raise NotFound(f"no shift {shift_id!r}; shift ids look like 2026-11-27.{names[0]} (shifts: {names})")
    hours, minutes = divmod(definition.start_minutes, 60)
    start = datetime.combine(day, time(hours, minutes), tzinfo=roster.zone).astimezone(UTC)
    return shift_at(roster, start)


def ensure_shift(session: Session, slot: ShiftSlot, *, lock: bool = False) -> Shift:
    query = select(Shift).where(Shift.id == slot.id)
    shift = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if shift is None:
        session.add(Shift(id=slot.id, name=slot.name, starts_at=slot.starts_at, ends_at=slot.ends_at))
        session.flush()
        shift = session.scalars(query.with_for_update() if lock else query).one()
    return shift


def assignments_of(session: Session, shift_id: str) -> list[ShiftAssignment]:
    return list(
        session.scalars(
            select(ShiftAssignment).where(ShiftAssignment.shift_id == shift_id).order_by(ShiftAssignment.username)
        )
    )


def assign_shift(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    shift_id: str,
    people: Sequence[tuple[str, str]],
    *,
    now: datetime,
) -> list[ShiftAssignment]:
    """Set who works a shift: (username, duty) pairs, duty `officer` or `supervisor`; replaces the list."""
    require(actor, Permission.SHIFTS_MANAGE)
    slot = shift_by_id(policy.roster, shift_id)
    seen: set[str] = set()
    for username, duty in people:
        if duty not in DUTIES:
            raise InvalidInput(f"duty {duty!r} for {username}: use officer or supervisor")
        if username in seen:
            raise InvalidInput(f"{username} is listed twice for {shift_id}")
        seen.add(username)
        user = session.get(User, username)
        if user is None or not user.active:
            raise InvalidInput(f"no active user {username!r}; create the account first")
        if user.role in (Role.FIELD_UNIT.value, Role.ANALYST.value):
            raise InvalidInput(f"{username} is a {user.role}; only officers, reviewers and admins work the desk")
        if duty == "supervisor" and user.role not in (Role.REVIEWER.value, Role.ADMIN.value):
            raise InvalidInput(f"{username} is a {user.role}; a duty supervisor must be a reviewer or admin")
    ensure_shift(session, slot, lock=True)
    existing = assignments_of(session, slot.id)
    before = {"assignments": [[a.username, a.duty] for a in existing]}
    for assignment in existing:
        session.delete(assignment)
    session.flush()
    created = [ShiftAssignment(shift_id=slot.id, username=u, duty=d) for u, d in sorted(people)]
    session.add_all(created)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="shift.assigned",
        entity_type="shift",
        entity_id=slot.id,
        before=before,
        after={"assignments": [[a.username, a.duty] for a in created]},
    )
    return created


def add_shift_note(session: Session, policy: WorkflowPolicy, actor: Actor, text: str, *, now: datetime) -> ShiftNote:
    """A note for the handover of the shift running now."""
    require(actor, Permission.SHIFTS_NOTE)
    text = text.strip()
    if not text:
        raise InvalidInput("a shift note needs text")
    slot = shift_at(policy.roster, now)
    ensure_shift(session, slot)
    note = ShiftNote(id=new_id("sn"), shift_id=slot.id, author=actor.username, text=text, created_at=now)
    session.add(note)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="shift.note_added",
        entity_type="shift",
        entity_id=slot.id,
        after={"note_id": note.id, "text": text},
    )
    return note


def duty_supervisor(session: Session, roster: RosterPolicy, now: datetime) -> User | None:
    """The supervisor on the roster for the shift running now, else the roster's fallback."""
    slot = shift_at(roster, now)
    username = (
        session.scalar(
            select(ShiftAssignment.username)
            .where(ShiftAssignment.shift_id == slot.id, ShiftAssignment.duty == "supervisor")
            .order_by(ShiftAssignment.username)
            .limit(1)
        )
        or roster.fallback_supervisor
    )
    user = session.get(User, username) if username else None
    return user if user is not None and user.active else None


# -- handover -----------------------------------------------------------------------------------


def _handover_summary(
    session: Session,
    slot: ShiftSlot,
    following: ShiftSlot,
    outgoing: list[str],
    incoming: list[str],
    released: list[str],
    now: datetime,
) -> dict[str, Any]:
    open_items = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.status.in_(OPEN_STATES))
        .order_by(ReviewItem.life_safety.desc(), ReviewItem.max_score.desc(), ReviewItem.created_at)
    ).all()
    tasks = session.scalars(
        select(VerificationTask)
        .where(VerificationTask.status.in_(OPEN_TASK_STATES))
        .order_by(VerificationTask.verify_due_at)
    ).all()
    breaches = session.scalars(
        select(SlaBreach)
        .where(SlaBreach.detected_at >= slot.starts_at, SlaBreach.detected_at < slot.ends_at)
        .order_by(SlaBreach.detected_at)
    ).all()
    notes = session.scalars(select(ShiftNote).where(ShiftNote.shift_id == slot.id).order_by(ShiftNote.created_at)).all()

    def item_row(item: ReviewItem) -> dict[str, Any]:
        return {
            "id": item.id,
            "category": item.category,
            "status": item.status,
            "score": round(item.max_score, 3),
            "jurisdiction": item.jurisdiction,
            "created_at": item.created_at.isoformat(),
            "acknowledged_by": item.acknowledged_by,
        }

    return {
        "shift": slot.as_dict(),
        "next_shift": following.as_dict(),
        "generated_at": now.isoformat(),
        "outgoing": outgoing,
        "incoming": incoming,
        "open_items": {
            "total": len(open_items),
            "by_status": dict(Counter(i.status for i in open_items)),
            "by_category": dict(Counter(i.category for i in open_items)),
            "items": [item_row(i) for i in open_items[:_SUMMARY_LIMIT]],
        },
        "life_safety_items": [item_row(i) for i in open_items if i.life_safety],
        "open_tasks": [
            {
                "id": t.id,
                "item_id": t.item_id,
                "category": t.category,
                "unit_id": t.unit_id,
                "status": t.status,
                "priority": t.priority,
                "verify_due_at": t.verify_due_at.isoformat(),
                "overdue": t.verify_due_at <= now,
            }
            for t in tasks
        ],
        "breaches": [
            {
                "subject_type": b.subject_type,
                "subject_id": b.subject_id,
                "kind": b.kind,
                "due_at": b.due_at.isoformat(),
                "detected_at": b.detected_at.isoformat(),
                "escalated_to": b.escalated_to,
            }
            for b in breaches
        ],
        "notes": [{"author": n.author, "text": n.text, "created_at": n.created_at.isoformat()} for n in notes],
        "released_claims": released,
    }


def close_shift(
    session: Session, policy: WorkflowPolicy, slot: ShiftSlot, *, now: datetime, actor: Actor = SYSTEM
) -> Handover:
    """Write the handover of `slot` (once) and return the claims of people going off shift."""
    shift = ensure_shift(session, slot, lock=True)
    existing = session.scalars(select(Handover).where(Handover.shift_id == slot.id)).one_or_none()
    if existing is not None:
        return existing
    following = next_shift(policy.roster, slot)
    ensure_shift(session, following)
    outgoing = [a.username for a in assignments_of(session, slot.id)]
    incoming = [a.username for a in assignments_of(session, following.id)]
    leaving = sorted(set(outgoing) - set(incoming))
    released = release_claims_of(session, actor, leaving, now=now)
    summary = _handover_summary(session, slot, following, outgoing, incoming, released, now)
    handover = Handover(
        id=f"ho-{slot.id}",
        shift_id=slot.id,
        next_shift_id=following.id,
        created_at=now,
        ack_due_at=slot.ends_at + timedelta(minutes=policy.roster.handover_ack_minutes),
        summary_json=json.dumps(summary, ensure_ascii=False, sort_keys=True),
    )
    session.add(handover)
    shift.closed_at = now
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="handover.created",
        entity_type="handover",
        entity_id=handover.id,
        after={
            "shift_id": slot.id,
            "next_shift_id": following.id,
            "released_claims": released,
            "open_items": summary["open_items"]["total"],
            "open_tasks": len(summary["open_tasks"]),
        },
    )
    enqueue_notification(
        session,
        topic="shift.handover",
        key=f"shift.handover:{slot.id}",
        payload={
            "handover_id": handover.id,
            "shift_id": slot.id,
            "next_shift_id": following.id,
            "life_safety_items": len(summary["life_safety_items"]),
            "open_tasks": len(summary["open_tasks"]),
            "summary": f"handover {slot.id} -> {following.id}",
        },
        at=now,
    )
    return handover


def run_shift_changes(
    session: Session, policy: WorkflowPolicy, *, now: datetime, lookback: timedelta = timedelta(days=1)
) -> list[Handover]:
    """Close every shift that ended within `lookback` and has no handover yet (oldest first)."""
    ended: list[ShiftSlot] = []
    slot = previous_shift(policy.roster, shift_at(policy.roster, now))
    while slot.ends_at > now - lookback:
        ended.append(slot)
        slot = previous_shift(policy.roster, slot)
    done = set(session.scalars(select(Handover.shift_id).where(Handover.shift_id.in_([s.id for s in ended]))))
    return [close_shift(session, policy, s, now=now) for s in reversed(ended) if s.id not in done]


def get_handover(session: Session, actor: Actor, handover_id: str) -> Handover:
    require(actor, Permission.SHIFTS_READ)
    handover = session.get(Handover, handover_id)
    if handover is None:
        raise NotFound(f"no handover {handover_id}")
    return handover


def acknowledge_handover(session: Session, actor: Actor, handover_id: str, *, now: datetime) -> Handover:
    """The incoming shift confirms it has read the handover."""
    require(actor, Permission.HANDOVER_ACKNOWLEDGE)
    handover = session.scalars(select(Handover).where(Handover.id == handover_id).with_for_update()).one_or_none()
    if handover is None:
        raise NotFound(f"no handover {handover_id}")
    if handover.acknowledged_at is not None:
        raise TransitionNotAllowed(
            f"handover {handover_id} was acknowledged by {handover.acknowledged_by}"
            f" at {handover.acknowledged_at:%H:%M}Z"
        )
    incoming = {a.username for a in assignments_of(session, handover.next_shift_id)}
    if incoming and actor.username not in incoming and actor.role is not Role.ADMIN:
        raise PermissionDenied(
            f"only the incoming shift ({', '.join(sorted(incoming))}) acknowledges handover {handover_id}"
        )
    handover.acknowledged_by, handover.acknowledged_at = actor.username, now
    record_audit(
        session,
        at=now,
        actor=actor,
        action="handover.acknowledged",
        entity_type="handover",
        entity_id=handover.id,
        before={"acknowledged_by": None},
        after={"acknowledged_by": actor.username},
    )
    return handover
