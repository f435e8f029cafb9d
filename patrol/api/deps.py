"""Dependencies: the app context, the authenticated actor and role checks.

A request authenticates with `Authorization: Bearer <token>` (scripts, other services) or with the
`patrol_session` cookie (the web console). A cookie is sent by the browser on its own, so with a
cookie every unsafe request must also carry the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from patrol.api.context import CSRF_HEADER, SESSION_COOKIE, ApiContext
from patrol.workflow.actors import Actor, Permission, require
from patrol.workflow.auth import actor_of, resolve_token

bearer_scheme = HTTPBearer(auto_error=False, description="a token from POST /api/v1/auth/token")
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description=f"a session from POST /api/v1/auth/session; unsafe requests also need the {CSRF_HEADER} header",
)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.patrol
    return context


Ctx = Annotated[ApiContext, Depends(get_context)]


def _unauthenticated(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"})


def current_actor(
    request: Request,
    ctx: Ctx,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Actor:
    now = ctx.clock.now()
    if bearer is not None:
        with ctx.db.read_session() as session:
            resolved = resolve_token(session, bearer.credentials, now=now, kind="bearer")
            if resolved is None:
                raise _unauthenticated("the bearer token is unknown, expired or revoked; log in again")
            return actor_of(resolved.user)
    if cookie:
        with ctx.db.read_session() as session:
            resolved = resolve_token(session, cookie, now=now, kind="session")
            if resolved is None:
                raise _unauthenticated("the session is unknown, expired or revoked; log in again")
            if request.method not in _SAFE_METHODS and not resolved.csrf_matches(request.headers.get(CSRF_HEADER)):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, detail=f"missing or wrong {CSRF_HEADER} header for a cookie session"
                )
            return actor_of(resolved.user)
    raise _unauthenticated("log in first: POST /api/v1/auth/token (bearer) or /api/v1/auth/session (cookie)")


CurrentActor = Annotated[Actor, Depends(current_actor)]


def permitted(permission: Permission) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """A dependency that returns the actor if their role has `permission`, else answers 403."""

    async def check(actor: CurrentActor) -> Actor:
        require(actor, permission)
        return actor

    check.__name__ = f"permitted_{permission.name.lower()}"
    return check


ItemsReader = Annotated[Actor, Depends(permitted(Permission.ITEMS_READ))]
ItemsViewer = Annotated[Actor, Depends(permitted(Permission.ITEMS_VIEW_DETAIL))]
Triager = Annotated[Actor, Depends(permitted(Permission.ITEMS_TRIAGE))]
ItemsReopener = Annotated[Actor, Depends(permitted(Permission.ITEMS_REOPEN))]
TasksReader = Annotated[Actor, Depends(permitted(Permission.TASKS_READ))]
TasksWorker = Annotated[Actor, Depends(permitted(Permission.TASKS_WORK))]
TasksManager = Annotated[Actor, Depends(permitted(Permission.TASKS_MANAGE))]
ShiftsReader = Annotated[Actor, Depends(permitted(Permission.SHIFTS_READ))]
ShiftsNoter = Annotated[Actor, Depends(permitted(Permission.SHIFTS_NOTE))]
ShiftsManager = Annotated[Actor, Depends(permitted(Permission.SHIFTS_MANAGE))]
HandoverAcknowledger = Annotated[Actor, Depends(permitted(Permission.HANDOVER_ACKNOWLEDGE))]
StatsReader = Annotated[Actor, Depends(permitted(Permission.STATS_READ))]
AuditReader = Annotated[Actor, Depends(permitted(Permission.AUDIT_READ))]
AuditExporter = Annotated[Actor, Depends(permitted(Permission.AUDIT_EXPORT))]
UsersManager = Annotated[Actor, Depends(permitted(Permission.USERS_MANAGE))]
ChannelsManager = Annotated[Actor, Depends(permitted(Permission.CHANNELS_MANAGE))]
