"""/api/v1/tasks: offline verification by field units (a unit only ever sees its own tasks)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Query, Response, UploadFile, status

from patrol.api.deps import Ctx, TasksManager, TasksReader, TasksWorker
from patrol.api.schemas import (
    CompleteIn,
    EvidenceOut,
    FindingIn,
    FindingOut,
    PriorityIn,
    ReasonIn,
    ReassignIn,
    ReopenTaskIn,
    TaskDetailOut,
    TaskOut,
    TaskPage,
)
from patrol.workflow import tasks as verification

router = APIRouter(prefix="/tasks", tags=["verification tasks"])
TaskId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="task id, e.g. vt-…")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such task, or not your unit's"}}
_CHUNK = 64 * 1024


@router.get("", response_model=TaskPage, summary="List tasks (open ones by default, soonest deadline first)")
def list_tasks(
    ctx: Ctx,
    actor: TasksReader,
    status_: Annotated[list[str] | None, Query(alias="status", description="default: the open states")] = None,
    unit: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="ignored for field units")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TaskPage:
    with ctx.db.read_session() as session:
        found, total = verification.list_tasks(
            session, actor, statuses=status_ or verification.OPEN_TASK_STATES, unit=unit, limit=limit, offset=offset
        )
        return TaskPage(total=total, tasks=[TaskOut.model_validate(t) for t in found])


@router.get(
    "/{task_id}",
    response_model=TaskDetailOut,
    responses=_NOT_FOUND,
    summary="A task with its findings and evidence (the view is audited)",
)
def get_task(ctx: Ctx, actor: TasksReader, task_id: TaskId) -> TaskDetailOut:
    with ctx.db.session() as session:
        return TaskDetailOut.of(verification.get_task(session, actor, task_id, now=ctx.clock.now()))


@router.post("/{task_id}/accept", response_model=TaskOut, responses=_NOT_FOUND, summary="The unit takes the task")
def accept(ctx: Ctx, actor: TasksWorker, task_id: TaskId) -> TaskOut:
    with ctx.db.session() as session:
        return TaskOut.model_validate(verification.accept_task(session, actor, task_id, now=ctx.clock.now()))


@router.post(
    "/{task_id}/start", response_model=TaskOut, responses=_NOT_FOUND, summary="Someone is on the way (dispatch)"
)
def start(ctx: Ctx, actor: TasksWorker, task_id: TaskId) -> TaskOut:
    with ctx.db.session() as session:
        return TaskOut.model_validate(verification.start_task(session, actor, task_id, now=ctx.clock.now()))


@router.post(
    "/{task_id}/complete", response_model=TaskOut, responses=_NOT_FOUND, summary="Close the task with an outcome"
)
def complete(ctx: Ctx, actor: TasksWorker, task_id: TaskId, body: CompleteIn) -> TaskOut:
    with ctx.db.session() as session:
        task = verification.complete_task(
            session, actor, task_id, outcome=body.outcome, note=body.note, now=ctx.clock.now()
        )
        return TaskOut.model_validate(task)


@router.post(
    "/{task_id}/findings",
    response_model=FindingOut,
    status_code=status.HTTP_201_CREATED,
    responses=_NOT_FOUND,
    summary="Record what was found on the ground",
)
def add_finding(ctx: Ctx, actor: TasksWorker, task_id: TaskId, body: FindingIn) -> FindingOut:
    with ctx.db.session() as session:
        return FindingOut.of(verification.add_finding(session, actor, task_id, text=body.text, now=ctx.clock.now()))


@router.post(
    "/{task_id}/evidence",
    response_model=EvidenceOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_NOT_FOUND, 413: {"description": "file too large"}, 422: {"description": "type refused"}},
    summary="Attach a file (type from its bytes; size limited; SHA-256 recorded)",
)
def add_evidence(ctx: Ctx, actor: TasksWorker, task_id: TaskId, file: Annotated[UploadFile, File()]) -> EvidenceOut:
    chunks = iter(lambda: file.file.read(_CHUNK), b"")
    with ctx.db.session() as session:
        evidence = verification.add_evidence(
            session, ctx.evidence, actor, task_id, filename=file.filename or "", chunks=chunks, now=ctx.clock.now()
        )
        return EvidenceOut.of(evidence)


@router.get(
    "/{task_id}/evidence/{evidence_id}",
    responses={**_NOT_FOUND, 200: {"content": {"*/*": {}}}},
    response_class=Response,
    summary="Download an evidence file (checked against its SHA-256; audited)",
)
def get_evidence(
    ctx: Ctx,
    actor: TasksReader,
    task_id: TaskId,
    evidence_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")],
) -> Response:
    with ctx.db.session() as session:
        evidence, data = verification.read_evidence(
            session, ctx.evidence, actor, task_id, evidence_id, now=ctx.clock.now()
        )
        return Response(
            content=data,
            media_type=evidence.content_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(evidence.filename)}",
                "X-Content-SHA256": evidence.sha256,
                "X-Content-Type-Options": "nosniff",
            },
        )


@router.post("/{task_id}/cancel", response_model=TaskOut, responses=_NOT_FOUND, summary="Cancel an open task")
def cancel(ctx: Ctx, actor: TasksManager, task_id: TaskId, body: ReasonIn) -> TaskOut:
    with ctx.db.session() as session:
        return TaskOut.model_validate(
            verification.cancel_task(session, actor, task_id, reason=body.reason, now=ctx.clock.now())
        )


@router.post(
    "/{task_id}/reassign",
    response_model=TaskOut,
    responses=_NOT_FOUND,
    summary="Move an open task to another unit (its SLA clock restarts)",
)
def reassign(ctx: Ctx, actor: TasksManager, task_id: TaskId, body: ReassignIn) -> TaskOut:
    with ctx.db.session() as session:
        task = verification.reassign_task(
            session, ctx.policy, actor, task_id, unit=body.unit, reason=body.reason, now=ctx.clock.now()
        )
        return TaskOut.model_validate(task)


@router.post(
    "/{task_id}/reopen",
    response_model=TaskOut,
    responses=_NOT_FOUND,
    summary="Reopen a completed or cancelled task (optionally for another unit)",
)
def reopen(ctx: Ctx, actor: TasksManager, task_id: TaskId, body: ReopenTaskIn) -> TaskOut:
    with ctx.db.session() as session:
        task = verification.reopen_task(
            session, ctx.policy, actor, task_id, reason=body.reason, unit=body.unit, now=ctx.clock.now()
        )
        return TaskOut.model_validate(task)


@router.post(
    "/{task_id}/priority",
    response_model=TaskOut,
    responses=_NOT_FOUND,
    summary="Change the priority; deadlines are recomputed from assignment",
)
def set_priority(ctx: Ctx, actor: TasksManager, task_id: TaskId, body: PriorityIn) -> TaskOut:
    with ctx.db.session() as session:
        task = verification.set_priority(
            session, ctx.policy, actor, task_id, priority=body.priority, reason=body.reason, now=ctx.clock.now()
        )
        return TaskOut.model_validate(task)
