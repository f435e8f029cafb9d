"""The FastAPI application: routes under /api/v1, workflow errors as JSON with the right status."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from patrol.api.context import ApiContext
from patrol.api.deps import Ctx
from patrol.api.routes import admin, auth, items, records, shifts, tasks
from patrol.api.schemas import ErrorOut
from patrol.config import Settings
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import (
    AuthenticationFailed,
    ClaimConflict,
    EvidenceCorrupted,
    EvidenceTooLarge,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    WorkflowError,
)
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.policy import WorkflowFiles, load_workflow_policy

API_PREFIX = "/api/v1"

#: Most specific first: the first class an error is an instance of decides its status.
_STATUS: list[tuple[type[WorkflowError], int]] = [
    (NotFound, status.HTTP_404_NOT_FOUND),
    (PermissionDenied, status.HTTP_403_FORBIDDEN),
    (AuthenticationFailed, status.HTTP_401_UNAUTHORIZED),
    (ClaimConflict, status.HTTP_409_CONFLICT),
    (TransitionNotAllowed, status.HTTP_409_CONFLICT),
    (EvidenceCorrupted, status.HTTP_409_CONFLICT),
    (EvidenceTooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
]
_ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "not logged in"},
    403: {"model": ErrorOut, "description": "the role may not do this"},
    404: {"model": ErrorOut, "description": "no such object (or not visible to this account)"},
    409: {"model": ErrorOut, "description": "the object's state does not allow this (or someone holds it)"},
}

DESCRIPTION = """
The review workflow of opinion-patrol: the queue of flagged items, offline verification tasks for
field units, shifts and handovers, notifications, the audit trail and precision feedback.

**Authentication.** `POST /api/v1/auth/token` returns a bearer token (send
`Authorization: Bearer …`). `POST /api/v1/auth/session` sets an HttpOnly `patrol_session` cookie and
returns a CSRF token that must come back as `X-CSRF-Token` on every POST/PUT/PATCH/DELETE.

**Roles.** patrol_officer (triage), reviewer (duty supervisor: tasks, roster, audit), field_unit
(its own unit's tasks only; another unit's task answers 404), analyst (statistics), admin (all).

**Errors** are `{"error": code, "detail": message}`; 409 means the object's state does not allow
the action (e.g. dismissing an item you have not claimed), with the reason in `detail`.
"""


def _error_status(exc: WorkflowError) -> int:
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


async def _workflow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WorkflowError)
    code = _error_status(exc)
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    return JSONResponse(ErrorOut(error=exc.code, detail=str(exc)).model_dump(), status_code=code, headers=headers)


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(
        title="opinion-patrol workflow API",
        version="1.0",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        responses=_ERROR_RESPONSES,
    )
    app.state.patrol = context
    app.add_exception_handler(WorkflowError, _workflow_error)
    for module in (auth, items, tasks, shifts, records, admin):
        app.include_router(module.router, prefix=API_PREFIX)

    @app.get(f"{API_PREFIX}/healthz", tags=["meta"], summary="Liveness and database reachability (no login)")
    def healthz(ctx: Ctx) -> dict[str, str]:
        with ctx.db.read_session() as session:
            session.connection().exec_driver_sql("SELECT 1")
        return {"status": "ok", "database": ctx.db.dialect}

    return app


def create_app_from_settings(settings: Settings, *, cookie_secure: bool = True) -> FastAPI:
    """The app for `patrol workflow serve`: the configured database, data files and evidence folder."""
    policy = load_workflow_policy(WorkflowFiles.from_settings(settings))
    db = WorkflowDb(settings.workflow_url)
    evidence = EvidenceStore(settings.data_dir / "evidence", policy.evidence)
    return create_app(ApiContext(db=db, policy=policy, evidence=evidence, cookie_secure=cookie_secure))
