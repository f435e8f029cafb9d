"""Verification tasks: the reviewers' board (by unit and status, SLA state, reassign) and a field
unit's own tasks (accept, start, findings, evidence upload, outcome)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.schema import AnalysedPost
from patrol.web.routes.common import ObjectId, run_change
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.web.timefmt import sla_state
from patrol.workflow import tasks as verification
from patrol.workflow.actors import Permission
from patrol.workflow.errors import InvalidInput
from patrol.workflow.models import ReviewItem, VerificationTask

router = APIRouter()
Worker = Annotated[FormRequest, Depends(form_guard(Permission.TASKS_WORK))]
Manager = Annotated[FormRequest, Depends(form_guard(Permission.TASKS_MANAGE))]
_CHUNK = 64 * 1024
_STATUS_FILTER = "^(|open|" + "|".join(verification.TASK_STATES) + ")$"


@dataclass
class TaskRow:
    task: VerificationTask
    due: datetime | None
    due_label: str
    state: str


def next_deadline(task: VerificationTask) -> tuple[datetime | None, str]:
    """The deadline the task is racing now: accept, then dispatch, then verify."""
    if task.status == "assigned":
        return task.ack_due_at, "accept"
    if task.status == "accepted":
        return task.dispatch_due_at, "dispatch"
    if task.status == "in_progress":
        return task.verify_due_at, "verify"
    return None, ""


def task_row(task: VerificationTask, now: datetime) -> TaskRow:
    due, label = next_deadline(task)
    # "Due soon" means less than 5 minutes for urgent and high tasks, 30 for the others.
    warn = timedelta(minutes=5 if task.priority in ("urgent", "high") else 30)
    return TaskRow(task=task, due=due, due_label=label, state=sla_state(due, now, warn=warn))


def _statuses(status: str) -> tuple[str, ...]:
    return verification.OPEN_TASK_STATES if status in ("", "open") else (status,)


@router.get("/tasks")
def board(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_guard(Permission.TASKS_MANAGE))],
    unit: Annotated[str, Query(pattern=r"^[A-Za-z0-9._:-]{0,64}$")] = "",
    status: Annotated[str, Query(pattern=_STATUS_FILTER)] = "open",
) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    with console.api.db.read_session() as session:
        tasks, total = verification.list_tasks(
            session, viewer.actor, statuses=_statuses(status), unit=unit or None, limit=500
        )
    columns = list(_statuses(status))
    by_unit: dict[str, dict[str, list[TaskRow]]] = defaultdict(lambda: {c: [] for c in columns})
    for task in tasks:
        by_unit[task.unit_id][task.status].append(task_row(task, now))
    return render(
        request,
        "tasks_board.html",
        {
            "by_unit": dict(sorted(by_unit.items())),
            "columns": columns,
            "total": total,
            "unit": unit,
            "status": status,
            "statuses": verification.TASK_STATES,
            "self_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        },
    )


@router.get("/my-tasks")
def my_tasks(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_guard(Permission.TASKS_WORK))],
    status: Annotated[str, Query(pattern=_STATUS_FILTER)] = "open",
) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    with console.api.db.read_session() as session:
        unit = viewer.actor.unit_id if viewer.actor.is_field_unit else None
        tasks, total = verification.list_tasks(
            session, viewer.actor, statuses=_statuses(status), unit=unit, limit=200
        )
        rows = [task_row(t, now) for t in tasks]
    return render(
        request,
        "my_tasks.html",
        {"rows": rows, "total": total, "status": status, "statuses": verification.TASK_STATES},
    )


def _reported_post(
    request: Request, session: Session, task: VerificationTask
) -> tuple[ReviewItem | None, AnalysedPost | None]:
    # What the unit is to verify: the item's first post, shown inert, on the unit's own task page only.
    item = session.get(ReviewItem, task.item_id)
    post = console_of(request).posts.get(item.first_post_id) if item is not None else None
    return item, post


@router.get("/tasks/{task_id}")
def task_page(
    request: Request, task_id: ObjectId, viewer: Annotated[Viewer, Depends(page_guard(Permission.TASKS_READ))]
) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    with console.api.db.session() as session:
        task = verification.get_task(session, viewer.actor, task_id, now=now)  # 404 for another unit's task
        item, post = _reported_post(request, session, task)
        row = task_row(task, now)
        findings, files = list(task.findings), list(task.evidence_files)
        other_units = [u for u in console.api.policy.units.ids() if u != task.unit_id]
    return render(
        request,
        "task.html",
        {
            "task": task,
            "row": row,
            "item": item,
            "post": post,
            "findings": findings,
            "files": files,
            "outcomes": verification.OUTCOMES,
            "priorities": console.api.policy.sla.priorities,
            "other_units": other_units,
            "self_path": f"/tasks/{task_id}",
            "max_evidence_mb": console.api.policy.evidence.max_bytes // (1024 * 1024),
            "allowed_types": console.api.policy.evidence.allowed_types,
        },
    )


def _step(request: Request, form: FormRequest, task_id: str, verb: str) -> Response:
    console = console_of(request)
    steps = {"accept": verification.accept_task, "start": verification.start_task}

    def change(session: Session) -> str:
        task = steps[verb](session, form.viewer.actor, task_id, now=console.api.clock.now())
        return f"Task {task.id} is now {task.status.replace('_', ' ')}"

    return run_change(request, form, f"/tasks/{task_id}", change)


@router.post("/tasks/{task_id}/accept")
def accept(request: Request, task_id: ObjectId, form: Worker) -> Response:
    return _step(request, form, task_id, "accept")


@router.post("/tasks/{task_id}/start")
def start(request: Request, task_id: ObjectId, form: Worker) -> Response:
    return _step(request, form, task_id, "start")


@router.post("/tasks/{task_id}/findings")
def add_finding(request: Request, task_id: ObjectId, form: Worker) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        verification.add_finding(
            session, form.viewer.actor, task_id, text=form.text("text"), now=console.api.clock.now()
        )
        return "Finding recorded"

    return run_change(request, form, f"/tasks/{task_id}", change)


@router.post("/tasks/{task_id}/evidence")
def add_evidence(request: Request, task_id: ObjectId, form: Worker) -> Response:
    console = console_of(request)
    upload = form.upload("file")

    def change(session: Session) -> str:
        if upload is None or not getattr(upload, "filename", ""):
            raise InvalidInput("choose a file to upload")
        upload.file.seek(0)
        chunks = iter(lambda: upload.file.read(_CHUNK), b"")
        evidence = verification.add_evidence(
            session,
            console.api.evidence,
            form.viewer.actor,
            task_id,
            filename=upload.filename,
            chunks=chunks,
            now=console.api.clock.now(),
        )
        return f"Evidence {evidence.filename} stored ({evidence.size} bytes, SHA-256 {evidence.sha256[:12]}…)"

    return run_change(request, form, f"/tasks/{task_id}", change)


@router.get("/tasks/{task_id}/evidence/{evidence_id}")
def evidence_file(
    request: Request,
    task_id: ObjectId,
    evidence_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")],
    viewer: Annotated[Viewer, Depends(page_guard(Permission.TASKS_READ))],
) -> Response:
    console = console_of(request)
    with console.api.db.session() as session:
        evidence, data = verification.read_evidence(
            session, console.api.evidence, viewer.actor, task_id, evidence_id, now=console.api.clock.now()
        )
        # Always a download: an uploaded file never renders inside the console's origin.
        return Response(
            content=data,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(evidence.filename)}",
                "X-Content-SHA256": evidence.sha256,
            },
        )


@router.post("/tasks/{task_id}/complete")
def complete(request: Request, task_id: ObjectId, form: Worker) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        task = verification.complete_task(
            session,
            form.viewer.actor,
            task_id,
            outcome=form.text("outcome"),
            note=form.optional("note"),
            now=console.api.clock.now(),
        )
        return f"Task {task.id} completed: {task.outcome}"

    return run_change(request, form, f"/tasks/{task_id}", change)


@router.post("/tasks/{task_id}/reassign")
def reassign(request: Request, task_id: ObjectId, form: Manager) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        task = verification.reassign_task(
            session,
            console.api.policy,
            form.viewer.actor,
            task_id,
            unit=form.text("unit"),
            reason=form.text("reason"),
            now=console.api.clock.now(),
        )
        return f"Task {task.id} now with {task.unit_id}; its SLA clock restarted"

    return run_change(request, form, f"/tasks/{task_id}", change)


@router.post("/tasks/{task_id}/priority")
def priority(request: Request, task_id: ObjectId, form: Manager) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        task = verification.set_priority(
            session,
            console.api.policy,
            form.viewer.actor,
            task_id,
            priority=form.text("priority"),
            reason=form.text("reason"),
            now=console.api.clock.now(),
        )
        return f"Task {task.id} is now {task.priority}"

    return run_change(request, form, f"/tasks/{task_id}", change)


@router.post("/tasks/{task_id}/cancel")
def cancel(request: Request, task_id: ObjectId, form: Manager) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        verification.cancel_task(
            session, form.viewer.actor, task_id, reason=form.text("reason"), now=console.api.clock.now()
        )
        return f"Task {task_id} cancelled"

    return run_change(request, form, f"/tasks/{task_id}", change)


@router.post("/tasks/{task_id}/reopen")
def reopen(request: Request, task_id: ObjectId, form: Manager) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        task = verification.reopen_task(
            session,
            console.api.policy,
            form.viewer.actor,
            task_id,
            reason=form.text("reason"),
            unit=form.optional("unit"),
            now=console.api.clock.now(),
        )
        return f"Task {task.id} reopened for {task.unit_id}"

    return run_change(request, form, f"/tasks/{task_id}", change)


def open_task_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(VerificationTask.unit_id).where(VerificationTask.status.in_(verification.OPEN_TASK_STATES))
    )
    counts: dict[str, int] = defaultdict(int)
    for (unit_id,) in rows:
        counts[unit_id] += 1
    return dict(counts)
