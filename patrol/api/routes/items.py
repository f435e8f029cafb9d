"""/api/v1/items: the review queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from patrol.api.deps import AuditReader, Ctx, ItemsReader, ItemsReopener, ItemsViewer, Triager
from patrol.api.schemas import (
    AuditRowOut,
    BulkIn,
    BulkOut,
    BulkOutcomeOut,
    DismissIn,
    DuplicateIn,
    EscalateIn,
    ItemDetailOut,
    ItemOut,
    ItemPage,
    ReasonIn,
    TaskOut,
)
from patrol.schema import RISK_CATEGORIES
from patrol.workflow import items as review
from patrol.workflow.audit import audit_row_dict, audit_rows

router = APIRouter(prefix="/items", tags=["review items"])
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="review item id, e.g. ri-…")]
Category = Annotated[str | None, Query(pattern="^(" + "|".join(RISK_CATEGORIES) + ")$")]


@router.get("", response_model=ItemPage, summary="List the queue (life-safety first, then score, then age)")
def list_items(
    ctx: Ctx,
    actor: ItemsReader,
    status_: Annotated[list[str] | None, Query(alias="status", description="default: new and claimed")] = None,
    category: Category = None,
    jurisdiction: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._:-]{1,64}$")] = None,
    life_safety: bool | None = None,
    mine: Annotated[bool, Query(description="only items I hold a live claim on")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ItemPage:
    where = review.QueueFilter(
        statuses=tuple(status_) if status_ else review.OPEN_STATES,
        category=category,
        jurisdiction=jurisdiction,
        life_safety=life_safety,
        claimed_by=actor.username if mine else None,
    )
    with ctx.db.read_session() as session:
        items, total = review.list_queue(session, actor, now=ctx.clock.now(), where=where, limit=limit, offset=offset)
        return ItemPage(total=total, items=[ItemOut.model_validate(i) for i in items])


@router.post(
    "/claim-next",
    response_model=ItemOut,
    summary="Claim the most urgent free item",
    responses={204: {"description": "the queue is empty"}},
)
def claim_next(ctx: Ctx, actor: Triager, category: Category = None) -> ItemOut | Response:
    with ctx.db.session() as session:
        item = review.claim_next(session, ctx.policy, actor, now=ctx.clock.now(), category=category)
        if item is None:
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        return ItemOut.model_validate(item)


@router.post("/bulk", response_model=BulkOut, summary="Apply one action to many items, each on its own")
def bulk(ctx: Ctx, actor: Triager, body: BulkIn) -> BulkOut:
    with ctx.db.session() as session:
        outcomes = review.bulk_action(
            session,
            ctx.policy,
            actor,
            body.item_ids,
            action=body.action,
            now=ctx.clock.now(),
            reason=body.reason,
            note=body.note,
            of=body.of,
        )
    results = [BulkOutcomeOut(**o.__dict__) for o in outcomes]
    return BulkOut(succeeded=sum(o.ok for o in results), failed=sum(not o.ok for o in results), outcomes=results)


@router.get(
    "/{item_id}",
    response_model=ItemDetailOut,
    summary="An item with its posts and why each was flagged (the view is audited)",
)
def get_item(ctx: Ctx, actor: ItemsViewer, item_id: ItemId) -> ItemDetailOut:
    with ctx.db.session() as session:
        return ItemDetailOut.of(review.item_detail(session, actor, item_id, now=ctx.clock.now()))


@router.get("/{item_id}/audit", response_model=list[AuditRowOut], summary="The item's audit trail")
def item_audit(ctx: Ctx, actor: AuditReader, item_id: ItemId) -> list[AuditRowOut]:
    with ctx.db.read_session() as session:
        rows = audit_rows(session, entity_type="review_item", entity_id=item_id, limit=1000)
        return [AuditRowOut.model_validate(audit_row_dict(r)) for r in rows]


@router.post("/{item_id}/claim", response_model=ItemOut, summary="Claim (or renew the claim on) an item")
def claim(ctx: Ctx, actor: Triager, item_id: ItemId) -> ItemOut:
    with ctx.db.session() as session:
        return ItemOut.model_validate(review.claim_item(session, ctx.policy, actor, item_id, now=ctx.clock.now()))


@router.post("/{item_id}/release", response_model=ItemOut, summary="Give a claimed item back to the queue")
def release(ctx: Ctx, actor: Triager, item_id: ItemId) -> ItemOut:
    with ctx.db.session() as session:
        return ItemOut.model_validate(review.release_item(session, actor, item_id, now=ctx.clock.now()))


@router.post(
    "/{item_id}/acknowledge", response_model=ItemOut, summary="Stop a life-safety item's acknowledgement timer"
)
def acknowledge(ctx: Ctx, actor: Triager, item_id: ItemId) -> ItemOut:
    with ctx.db.session() as session:
        return ItemOut.model_validate(review.acknowledge_item(session, actor, item_id, now=ctx.clock.now()))


@router.post("/{item_id}/dismiss", response_model=ItemOut, summary="Dismiss a claimed item with a reason code")
def dismiss(ctx: Ctx, actor: Triager, item_id: ItemId, body: DismissIn) -> ItemOut:
    with ctx.db.session() as session:
        item = review.dismiss_item(
            session, ctx.policy, actor, item_id, reason=body.reason, note=body.note, now=ctx.clock.now()
        )
        return ItemOut.model_validate(item)


@router.post("/{item_id}/duplicate", response_model=ItemOut, summary="Mark a claimed item as a duplicate of another")
def duplicate(ctx: Ctx, actor: Triager, item_id: ItemId, body: DuplicateIn) -> ItemOut:
    with ctx.db.session() as session:
        item = review.mark_duplicate(session, actor, item_id, of=body.of, note=body.note, now=ctx.clock.now())
        return ItemOut.model_validate(item)


@router.post(
    "/{item_id}/escalate",
    response_model=TaskOut,
    status_code=status.HTTP_201_CREATED,
    summary="Escalate a claimed item to a verification task for a field unit",
)
def escalate(ctx: Ctx, actor: Triager, item_id: ItemId, body: EscalateIn) -> TaskOut:
    with ctx.db.session() as session:
        task = review.escalate_item(
            session,
            ctx.policy,
            actor,
            item_id,
            now=ctx.clock.now(),
            unit=body.unit,
            priority=body.priority,
            instructions=body.instructions,
        )
        return TaskOut.model_validate(task)


@router.post("/{item_id}/reopen", response_model=ItemOut, summary="Send a decided item back to the queue")
def reopen(ctx: Ctx, actor: ItemsReopener, item_id: ItemId, body: ReasonIn) -> ItemOut:
    with ctx.db.session() as session:
        return ItemOut.model_validate(
            review.reopen_item(session, actor, item_id, reason=body.reason, now=ctx.clock.now())
        )
