"""/api/v1/shifts, /handovers and /sla: the rota, handovers and missed deadlines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.api.deps import Ctx, HandoverAcknowledger, ShiftsManager, ShiftsNoter, ShiftsReader
from patrol.api.schemas import AssignmentOut, AssignmentsIn, BreachOut, HandoverOut, NoteIn, NoteOut, ShiftOut
from patrol.workflow import shifts as rota
from patrol.workflow.models import Handover
from patrol.workflow.policy import SlaPolicy
from patrol.workflow.sla import list_breaches

router = APIRouter(tags=["shifts and handover"])
ShiftId = Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}\.[a-z][a-z0-9_-]{0,31}$", description="e.g. 2026-11-27.day")]
HandoverId = Annotated[str, Path(pattern=r"^ho-\d{4}-\d{2}-\d{2}\.[a-z][a-z0-9_-]{0,31}$")]


def _shift_out(session: Session, ctx: Ctx, slot: rota.ShiftSlot) -> ShiftOut:
    people = [AssignmentOut(username=a.username, duty=a.duty) for a in rota.assignments_of(session, slot.id)]
    supervisor = rota.duty_supervisor(session, ctx.policy.roster, slot.starts_at)
    return ShiftOut(
        id=slot.id,
        name=slot.name,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        assignments=people,
        duty_supervisor=supervisor.username if supervisor else None,
    )


@router.get(
    "/shifts/current", response_model=ShiftOut, summary="The shift running now, who works it and who supervises"
)
def current_shift(ctx: Ctx, actor: ShiftsReader) -> ShiftOut:
    with ctx.db.read_session() as session:
        return _shift_out(session, ctx, rota.shift_at(ctx.policy.roster, ctx.clock.now()))


@router.get("/shifts/{shift_id}", response_model=ShiftOut, summary="One shift of the rota")
def get_shift(ctx: Ctx, actor: ShiftsReader, shift_id: ShiftId) -> ShiftOut:
    with ctx.db.read_session() as session:
        return _shift_out(session, ctx, rota.shift_by_id(ctx.policy.roster, shift_id))


@router.put("/shifts/{shift_id}/assignments", response_model=ShiftOut, summary="Set who works a shift")
def assign(ctx: Ctx, actor: ShiftsManager, shift_id: ShiftId, body: AssignmentsIn) -> ShiftOut:
    with ctx.db.session() as session:
        rota.assign_shift(
            session, ctx.policy, actor, shift_id, [(a.username, a.duty) for a in body.assignments], now=ctx.clock.now()
        )
        return _shift_out(session, ctx, rota.shift_by_id(ctx.policy.roster, shift_id))


@router.post(
    "/shifts/current/notes",
    response_model=NoteOut,
    status_code=201,
    summary="Add a note to the current shift's handover",
)
def add_note(ctx: Ctx, actor: ShiftsNoter, body: NoteIn) -> NoteOut:
    with ctx.db.session() as session:
        return NoteOut.model_validate(rota.add_shift_note(session, ctx.policy, actor, body.text, now=ctx.clock.now()))


@router.get("/handovers", response_model=list[HandoverOut], summary="Recent handovers, newest first")
def list_handovers(ctx: Ctx, actor: ShiftsReader, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[HandoverOut]:
    with ctx.db.read_session() as session:
        rows = session.scalars(select(Handover).order_by(Handover.created_at.desc(), Handover.id.desc()).limit(limit))
        return [HandoverOut.of(h) for h in rows]


@router.get("/handovers/{handover_id}", response_model=HandoverOut, summary="One handover")
def get_handover(ctx: Ctx, actor: ShiftsReader, handover_id: HandoverId) -> HandoverOut:
    with ctx.db.read_session() as session:
        return HandoverOut.of(rota.get_handover(session, actor, handover_id))


@router.post(
    "/handovers/{handover_id}/acknowledge",
    response_model=HandoverOut,
    summary="The incoming shift confirms it has read the handover",
)
def acknowledge_handover(ctx: Ctx, actor: HandoverAcknowledger, handover_id: HandoverId) -> HandoverOut:
    with ctx.db.session() as session:
        return HandoverOut.of(rota.acknowledge_handover(session, actor, handover_id, now=ctx.clock.now()))


@router.get("/sla/breaches", response_model=list[BreachOut], tags=["sla"], summary="Missed deadlines, newest first")
def breaches(
    ctx: Ctx,
    actor: ShiftsReader,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[BreachOut]:
    with ctx.db.read_session() as session:
        return [BreachOut.of(b) for b in list_breaches(session, since=since, limit=limit)]


@router.get("/sla/targets", response_model=SlaPolicy, tags=["sla"], summary="SLA targets (from sla.yaml)")
def targets(ctx: Ctx, actor: ShiftsReader) -> SlaPolicy:
    return ctx.policy.sla
