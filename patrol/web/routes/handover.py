"""Shift handover: notes for the running shift, the summaries the worker writes at each shift change,
and the incoming shift's acknowledgement."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.web.routes.common import run_change
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.workflow import shifts as rota
from patrol.workflow.actors import Permission
from patrol.workflow.models import Handover, ShiftNote

router = APIRouter()
HandoverId = Annotated[str, Path(pattern=r"^ho-\d{4}-\d{2}-\d{2}\.[a-z][a-z0-9_-]{0,31}$")]
Reader = Annotated[Viewer, Depends(page_guard(Permission.SHIFTS_READ))]


def _summary(handover: Handover) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(handover.summary_json)
    return summary


@router.get("/handover")
def handover_page(request: Request, viewer: Reader) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    roster = console.api.policy.roster
    slot = rota.shift_at(roster, now)
    with console.api.db.read_session() as session:
        notes = list(
            session.scalars(
                select(ShiftNote).where(ShiftNote.shift_id == slot.id).order_by(ShiftNote.created_at)
            )
        )
        people = rota.assignments_of(session, slot.id)
        supervisor = rota.duty_supervisor(session, roster, now)
        recent = list(
            session.scalars(
                select(Handover).order_by(Handover.created_at.desc(), Handover.id.desc()).limit(10)
            )
        )
        handovers = [(h, _summary(h)) for h in recent]
    return render(
        request,
        "handover.html",
        {
            "slot": slot,
            "next_slot": rota.next_shift(roster, slot),
            "notes": notes,
            "people": people,
            "supervisor": supervisor.username if supervisor else None,
            "handovers": handovers,
            "self_path": "/handover",
        },
    )


@router.get("/handover/{handover_id}")
def handover_detail(request: Request, handover_id: HandoverId, viewer: Reader) -> Response:
    console = console_of(request)
    with console.api.db.read_session() as session:
        handover = rota.get_handover(session, viewer.actor, handover_id)
        summary = _summary(handover)
    return render(
        request,
        "handover_detail.html",
        {"handover": handover, "summary": summary, "self_path": f"/handover/{handover_id}"},
    )


@router.post("/handover/notes")
def add_note(
    request: Request, form: Annotated[FormRequest, Depends(form_guard(Permission.SHIFTS_NOTE))]
) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        note = rota.add_shift_note(
            session, console.api.policy, form.viewer.actor, form.text("text"), now=console.api.clock.now()
        )
        return f"Note added to the handover of {note.shift_id}"

    return run_change(request, form, "/handover", change)


@router.post("/handover/{handover_id}/acknowledge")
def acknowledge(
    request: Request,
    handover_id: HandoverId,
    form: Annotated[FormRequest, Depends(form_guard(Permission.HANDOVER_ACKNOWLEDGE))],
) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        rota.acknowledge_handover(session, form.viewer.actor, handover_id, now=console.api.clock.now())
        return f"Handover {handover_id} acknowledged"

    return run_change(request, form, "/handover", change)
