"""The review queue: claiming items and deciding them.

States: `new` -> `claimed` -> `dismissed(reason)` | `duplicate(of)` | `escalated`.

- A claim is a lock with an expiry (`claim_ttl_minutes`); only its holder may decide the item, and
  an expired claim is free for anyone. `claim_next` hands each reviewer a different item: on
  PostgreSQL it skips rows another transaction has locked (`FOR UPDATE SKIP LOCKED`), on SQLite
  every write transaction holds the write lock from its first statement (`BEGIN IMMEDIATE`).
- Life-safety items sort first and carry an acknowledgement timer; claiming acknowledges them.
- A supervisor may release someone else's claim, and reopen a dismissed or duplicate item.

Every change writes an audit row and, where someone must hear of it, an outbox event, in the same
transaction. Times come in as `now` from the caller's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from patrol.workflow.actors import Actor, Permission, require
from patrol.workflow.audit import record_audit
from patrol.workflow.errors import ClaimConflict, InvalidInput, NotFound, TransitionNotAllowed, WorkflowError
from patrol.workflow.models import ReviewItem, VerificationTask
from patrol.workflow.policy import WorkflowPolicy
from patrol.workflow.tasks import create_task

ITEM_STATES = ("new", "claimed", "dismissed", "duplicate", "escalated")
OPEN_STATES = ("new", "claimed")
TERMINAL_STATES = ("dismissed", "duplicate", "escalated")
ENTITY = "review_item"


def item_state(item: ReviewItem) -> dict[str, Any]:
    """What the audit log records before and after a change."""
    return {
        "status": item.status,
        "claimed_by": item.claimed_by,
        "claim_expires_at": item.claim_expires_at,
        "acknowledged_by": item.acknowledged_by,
        "dismiss_reason": item.dismiss_reason,
        "resolution_note": item.resolution_note,
        "duplicate_of": item.duplicate_of,
        "task_id": item.task_id,
    }


def claim_is_live(item: ReviewItem, now: datetime) -> bool:
    return item.status == "claimed" and item.claim_expires_at is not None and item.claim_expires_at > now


def effective_status(item: ReviewItem, now: datetime) -> str:
    """`new` for an item whose claim has lapsed, even before the sweeper has reset it."""
    return "new" if item.status == "claimed" and not claim_is_live(item, now) else item.status


def _load_locked(session: Session, item_id: str) -> ReviewItem:
    item = session.scalars(
        select(ReviewItem).where(ReviewItem.id == item_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if item is None:
        raise NotFound(f"no review item {item_id}")
    return item


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    item: ReviewItem,
    before: dict[str, Any] | None,
    now: datetime,
    **extra: Any,
) -> None:
    after = item_state(item) | extra
    record_audit(
        session,
        at=now,
        actor=actor,
        action=action,
        entity_type=ENTITY,
        entity_id=item.id,
        before=before,
        after=after,
    )


# -- queue --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    statuses: Sequence[str] = OPEN_STATES
    category: str | None = None
    jurisdiction: str | None = None
    life_safety: bool | None = None
    claimed_by: str | None = None


def _queue_order() -> tuple[Any, ...]:
    return (ReviewItem.life_safety.desc(), ReviewItem.max_score.desc(), ReviewItem.created_at, ReviewItem.id)


def list_queue(
    session: Session,
    actor: Actor,
    *,
    now: datetime,
    where: QueueFilter | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ReviewItem], int]:
    """A page of the queue, life-safety first, then highest score, then oldest; and the total."""
    require(actor, Permission.ITEMS_READ)
    where = where or QueueFilter()
    unknown = sorted(set(where.statuses) - set(ITEM_STATES))
    if unknown:
        raise InvalidInput(f"unknown item states {unknown}; use {list(ITEM_STATES)}")
    conditions: list[Any] = [ReviewItem.status.in_(list(where.statuses))]
    if where.category:
        conditions.append(ReviewItem.category == where.category)
    if where.jurisdiction:
        conditions.append(ReviewItem.jurisdiction == where.jurisdiction)
    if where.life_safety is not None:
        conditions.append(ReviewItem.life_safety.is_(where.life_safety))
    if where.claimed_by:
        conditions.append(and_(ReviewItem.claimed_by == where.claimed_by, ReviewItem.claim_expires_at > now))
    total = session.scalar(select(func.count()).select_from(ReviewItem).where(*conditions)) or 0
    items = session.scalars(
        select(ReviewItem).where(*conditions).order_by(*_queue_order()).limit(limit).offset(offset)
    ).all()
    return list(items), total


def item_detail(session: Session, actor: Actor, item_id: str, *, now: datetime) -> ReviewItem:
    """An item with its posts and evidence; the view itself is recorded in the audit log."""
    require(actor, Permission.ITEMS_VIEW_DETAIL)
    item = session.scalars(
        select(ReviewItem).where(ReviewItem.id == item_id).options(selectinload(ReviewItem.posts))
    ).one_or_none()
    if item is None:
        raise NotFound(f"no review item {item_id}")
    record_audit(session, at=now, actor=actor, action="item.viewed", entity_type=ENTITY, entity_id=item.id)
    return item


# -- claims -------------------------------------------------------------------------------------


def _take_claim(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    item: ReviewItem,
    now: datetime,
    action: str = "item.claimed",
) -> ReviewItem:
    before = item_state(item)
    item.status = "claimed"
    item.claimed_by = actor.username
    item.claimed_at = now
    item.claim_expires_at = now + policy.sla.claim_ttl
    if item.life_safety and item.acknowledged_at is None:
        item.acknowledged_at, item.acknowledged_by = now, actor.username
    item.updated_at = now
    _audit(session, actor, action, item, before, now)
    return item


def claim_item(session: Session, policy: WorkflowPolicy, actor: Actor, item_id: str, *, now: datetime) -> ReviewItem:
    require(actor, Permission.ITEMS_TRIAGE)
    item = _load_locked(session, item_id)
    if item.status in TERMINAL_STATES:
        raise TransitionNotAllowed(f"item {item_id} is already {item.status}; only new items can be claimed")
    if claim_is_live(item, now) and item.claimed_by != actor.username:
        raise ClaimConflict(
            f"item {item_id} is claimed by {item.claimed_by}"
            f" until {item.claim_expires_at:%Y-%m-%d %H:%M:%S}Z;"
            " take the next item instead"
        )
    renewing = claim_is_live(item, now)
    return _take_claim(session, policy, actor, item, now, "item.claim_extended" if renewing else "item.claimed")


def _queue_key(item: ReviewItem) -> tuple[Any, ...]:
    """The queue order of `_queue_order`, for comparing two items in Python."""
    return (not item.life_safety, -item.max_score, item.created_at, item.id)


def claim_next(
    session: Session, policy: WorkflowPolicy, actor: Actor, *, now: datetime, category: str | None = None
) -> ReviewItem | None:
    """The most urgent free item, claimed for `actor`; None when the queue is empty."""
    require(actor, Permission.ITEMS_TRIAGE)
    scope = select(ReviewItem)
    if category:
        scope = scope.where(ReviewItem.category == category)
    # Two narrow queries instead of one with OR, so each can walk the queue index: new items, and
    # the (few) items whose claim lapsed before the sweeper reset them.
    new = scope.where(ReviewItem.status == "new")
    lapsed = scope.where(ReviewItem.status == "claimed", ReviewItem.claim_expires_at <= now)

    def first_locked(query: Any) -> ReviewItem | None:
        locked = (
            query.order_by(*_queue_order())
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        item: ReviewItem | None = session.scalars(locked).first()
        return item

    # On PostgreSQL a row claimed by a transaction that commits while this query runs is re-checked
    # and dropped, and LIMIT 1 then returns nothing although other items are free; look again.
    for _attempt in range(5):
        candidates = [item for item in (first_locked(new), first_locked(lapsed)) if item is not None]
        if candidates:
            return _take_claim(session, policy, actor, min(candidates, key=_queue_key), now)
        if not session.scalar(select(or_(new.exists(), lapsed.exists()))):
            return None
    return None


def _require_holder(item: ReviewItem, actor: Actor, now: datetime, action: str) -> None:
    if item.status in TERMINAL_STATES:
        raise TransitionNotAllowed(f"item {item.id} is already {item.status}; it cannot be {action}")
    if item.status == "new":
        raise TransitionNotAllowed(f"item {item.id} is not claimed; claim it before it can be {action}")
    if item.claimed_by != actor.username:
        if claim_is_live(item, now):
            raise ClaimConflict(f"item {item.id} is claimed by {item.claimed_by}; only the holder can decide it")
        raise TransitionNotAllowed(f"item {item.id} is not claimed by you; claim it first")
    if not claim_is_live(item, now):
        raise ClaimConflict(
            f"your claim on item {item.id} expired at {item.claim_expires_at:%H:%M:%S}Z; claim it again"
        )


def release_item(session: Session, actor: Actor, item_id: str, *, now: datetime) -> ReviewItem:
    """Give a claimed item back to the queue; supervisors may release anyone's claim."""
    require(actor, Permission.ITEMS_TRIAGE)
    item = _load_locked(session, item_id)
    if item.status != "claimed":
        raise TransitionNotAllowed(f"item {item_id} is {item.status}, not claimed; there is nothing to release")
    if item.claimed_by != actor.username and claim_is_live(item, now) and not actor.can(Permission.ITEMS_REOPEN):
        raise ClaimConflict(f"item {item_id} is claimed by {item.claimed_by}; ask a supervisor to release it")
    return _return_to_queue(session, actor, item, now, "item.released")


def _return_to_queue(session: Session, actor: Actor, item: ReviewItem, now: datetime, action: str) -> ReviewItem:
    before = item_state(item)
    item.status = "new"
    item.claimed_by = item.claimed_at = item.claim_expires_at = None
    item.updated_at = now
    _audit(session, actor, action, item, before, now)
    return item


def expire_claims(session: Session, actor: Actor, *, now: datetime) -> int:
    """Return lapsed claims to the queue (claim_next already ignores them; this keeps views honest)."""
    lapsed = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.status == "claimed", ReviewItem.claim_expires_at <= now)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    for item in lapsed:
        _return_to_queue(session, actor, item, now, "item.claim_expired")
    return len(lapsed)


def release_claims_of(
    session: Session,
    actor: Actor,
    usernames: Sequence[str],
    *,
    now: datetime,
    action: str = "item.released_shift_end",
) -> list[str]:
    """Return every item claimed by these people to the queue (they are going off shift)."""
    if not usernames:
        return []
    held = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.status == "claimed", ReviewItem.claimed_by.in_(list(usernames)))
        .order_by(ReviewItem.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for item in held:
        _return_to_queue(session, actor, item, now, action)
    return [item.id for item in held]


def acknowledge_item(session: Session, actor: Actor, item_id: str, *, now: datetime) -> ReviewItem:
    """Stop a life-safety item's acknowledgement timer without claiming it (someone is on it)."""
    require(actor, Permission.ITEMS_TRIAGE)
    item = _load_locked(session, item_id)
    if not item.life_safety:
        raise TransitionNotAllowed(f"item {item_id} is not life-safety; only those have an acknowledgement timer")
    if item.acknowledged_at is not None:
        return item
    before = item_state(item)
    item.acknowledged_at, item.acknowledged_by = now, actor.username
    item.updated_at = now
    _audit(session, actor, "item.acknowledged", item, before, now)
    return item


# -- decisions ----------------------------------------------------------------------------------


def _resolve(item: ReviewItem, actor: Actor, now: datetime) -> None:
    item.claimed_by = item.claimed_at = item.claim_expires_at = None
    item.resolved_at, item.resolved_by = now, actor.username
    item.updated_at = now


def dismiss_item(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    item_id: str,
    *,
    reason: str,
    note: str | None,
    now: datetime,
) -> ReviewItem:
    require(actor, Permission.ITEMS_TRIAGE)
    code = policy.dismiss_reasons.get(reason)
    note = (note or "").strip() or None
    if code.note_required and not note:
        raise InvalidInput(f"dismissing as {reason} needs a note saying why (e.g. which unit it belongs to)")
    item = _load_locked(session, item_id)
    _require_holder(item, actor, now, "dismissed")
    before = item_state(item)
    item.status = "dismissed"
    item.dismiss_reason, item.resolution_note = reason, note
    _resolve(item, actor, now)
    _audit(session, actor, "item.dismissed", item, before, now)
    return item


def _root_of(session: Session, item_id: str) -> ReviewItem:
    seen: set[str] = set()
    current = session.get(ReviewItem, item_id)
    if current is None:
        raise InvalidInput(f"no review item {item_id} to mark as the original")
    while current.status == "duplicate" and current.duplicate_of and current.id not in seen:
        seen.add(current.id)
        parent = session.get(ReviewItem, current.duplicate_of)
        if parent is None:
            break
        current = parent
    return current


def mark_duplicate(
    session: Session, actor: Actor, item_id: str, *, of: str, note: str | None, now: datetime
) -> ReviewItem:
    require(actor, Permission.ITEMS_TRIAGE)
    item = _load_locked(session, item_id)
    _require_holder(item, actor, now, "marked duplicate")
    original = _root_of(session, of)
    if original.id == item.id:
        raise InvalidInput(f"item {item_id} cannot be a duplicate of itself (or of its own duplicates)")
    before = item_state(item)
    item.status = "duplicate"
    item.duplicate_of, item.resolution_note = original.id, (note or "").strip() or None
    _resolve(item, actor, now)
    _audit(session, actor, "item.duplicate", item, before, now)
    return item


def escalate_item(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    item_id: str,
    *,
    now: datetime,
    unit: str | None = None,
    priority: str | None = None,
    instructions: str | None = None,
) -> VerificationTask:
    """Hand the item to a field unit as a verification task (routed by jurisdiction unless overridden)."""
    require(actor, Permission.ITEMS_TRIAGE)
    item = _load_locked(session, item_id)
    _require_holder(item, actor, now, "escalated")
    task = create_task(session, policy, actor, item, now=now, unit=unit, priority=priority, instructions=instructions)
    before = item_state(item)
    item.status, item.task_id = "escalated", task.id
    _resolve(item, actor, now)
    _audit(session, actor, "item.escalated", item, before, now)
    return task


def reopen_item(session: Session, actor: Actor, item_id: str, *, reason: str, now: datetime) -> ReviewItem:
    """A supervisor sends a decided item back to the queue, saying why."""
    require(actor, Permission.ITEMS_REOPEN)
    if not reason.strip():
        raise InvalidInput("reopening needs a reason")
    item = _load_locked(session, item_id)
    if item.status in OPEN_STATES:
        raise TransitionNotAllowed(f"item {item_id} is {item.status}; only decided items can be reopened")
    if item.status == "escalated":
        task = session.get(VerificationTask, item.task_id) if item.task_id else None
        if task is not None and task.status != "cancelled":
            raise TransitionNotAllowed(
                f"item {item_id} is with task {task.id} ({task.status}); reopen or cancel the task instead"
            )
    before = item_state(item)
    item.status = "new"
    item.dismiss_reason = item.duplicate_of = item.task_id = None
    item.resolution_note = None
    item.resolved_at = item.resolved_by = None
    item.updated_at = now
    _audit(session, actor, "item.reopened", item, before, now, reason=reason.strip())
    return item


# -- bulk ---------------------------------------------------------------------------------------

BulkActionName = Literal["claim", "release", "dismiss", "duplicate"]


@dataclass(frozen=True)
class BulkOutcome:
    item_id: str
    ok: bool
    status: str | None = None
    error: str | None = None
    code: str | None = None


def bulk_action(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    item_ids: Sequence[str],
    *,
    action: BulkActionName,
    now: datetime,
    reason: str | None = None,
    note: str | None = None,
    of: str | None = None,
) -> list[BulkOutcome]:
    """One action over many items (e.g. dismissing a wave of gambling spam), each item on its own.

    Dismissing or merging a `new` item claims it on the way, so the decision still has exactly one
    holder; an item someone else holds is reported, not taken.
    """
    require(actor, Permission.ITEMS_TRIAGE)
    if action not in ("claim", "release", "dismiss", "duplicate"):
        raise InvalidInput(f"unknown bulk action {action!r}; use claim, release, dismiss or duplicate")
    if action == "dismiss":
        policy.dismiss_reasons.get(reason or "")
    if action == "duplicate" and not of:
        raise InvalidInput("bulk duplicate needs `of`, the item they duplicate")
    unique_ids = sorted(set(item_ids))
    if not unique_ids or len(unique_ids) > 500:
        raise InvalidInput("a bulk action takes between 1 and 500 item ids")
    # Lock in id order so two bulk actions over overlapping items cannot deadlock.
    session.scalars(
        select(ReviewItem.id).where(ReviewItem.id.in_(unique_ids)).order_by(ReviewItem.id).with_for_update()
    ).all()
    outcomes: list[BulkOutcome] = []
    for item_id in unique_ids:
        try:
            with session.begin_nested():
                item = _bulk_one(
                    session, policy, actor, item_id, action=action, now=now, reason=reason, note=note, of=of
                )
            outcomes.append(BulkOutcome(item_id, True, status=item.status))
        except WorkflowError as exc:
            outcomes.append(BulkOutcome(item_id, False, error=str(exc), code=exc.code))
    return outcomes


def _bulk_one(
    session: Session,
    policy: WorkflowPolicy,
    actor: Actor,
    item_id: str,
    *,
    action: BulkActionName,
    now: datetime,
    reason: str | None,
    note: str | None,
    of: str | None,
) -> ReviewItem:
    if action == "claim":
        return claim_item(session, policy, actor, item_id, now=now)
    if action == "release":
        return release_item(session, actor, item_id, now=now)
    item = _load_locked(session, item_id)
    if effective_status(item, now) == "new" or (item.status == "claimed" and item.claimed_by == actor.username):
        claim_item(session, policy, actor, item_id, now=now)
    if action == "dismiss":
        return dismiss_item(session, policy, actor, item_id, reason=reason or "", note=note, now=now)
    assert of is not None
    return mark_duplicate(session, actor, item_id, of=of, note=note, now=now)
