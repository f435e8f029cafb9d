"""/api/v1/auth: log in with a bearer token or a cookie session, log out, who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from patrol.api.context import SESSION_COOKIE
from patrol.api.deps import Ctx, CurrentActor, bearer_scheme, cookie_scheme
from patrol.api.schemas import LoginIn, SessionOut, TokenOut, UserOut, user_out
from patrol.workflow.auth import IssuedToken, authenticate, issue_token, revoke_token
from patrol.workflow.errors import AuthenticationFailed, NotFound
from patrol.workflow.models import User

router = APIRouter(prefix="/auth", tags=["auth"])
_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "wrong username or password, or the account is locked"}
}


def _login(ctx: Ctx, body: LoginIn, kind: str) -> tuple[IssuedToken, UserOut]:
    failure: AuthenticationFailed | None = None
    with ctx.db.session() as session:
        try:
            user = authenticate(session, body.username, body.password, now=ctx.clock.now(), hasher=ctx.hasher)
        except AuthenticationFailed as exc:
            failure = exc  # the failed-login counter must still be committed
        else:
            issued = issue_token(
                session, user, kind="session" if kind == "session" else "bearer", now=ctx.clock.now(), ttl=ctx.token_ttl
            )
            return issued, user_out(user)
    assert failure is not None
    raise failure


@router.post("/token", response_model=TokenOut, responses=_REFUSED, summary="Log in; get a bearer token")
def login_token(ctx: Ctx, body: LoginIn) -> TokenOut:
    issued, user = _login(ctx, body, "bearer")
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at, user=user)


@router.post(
    "/session",
    response_model=SessionOut,
    responses=_REFUSED,
    summary="Log in; get a session cookie and its CSRF token (for the web console)",
)
def login_session(ctx: Ctx, body: LoginIn, response: Response) -> SessionOut:
    issued, user = _login(ctx, body, "session")
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(ctx.token_ttl.total_seconds()),
        httponly=True,
        secure=ctx.cookie_secure,
        samesite="strict",
        path="/",
    )
    assert issued.csrf_token is not None
    return SessionOut(csrf_token=issued.csrf_token, expires_at=issued.expires_at, user=user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke the token or session in use")
def logout(
    ctx: Ctx,
    actor: CurrentActor,
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Response:
    secret = bearer.credentials if bearer is not None else cookie
    with ctx.db.session() as session:
        if secret:
            revoke_token(session, secret, now=ctx.clock.now())
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserOut, summary="The logged-in account")
def me(ctx: Ctx, actor: CurrentActor) -> UserOut:
    with ctx.db.read_session() as session:
        user = session.get(User, actor.username)
        if user is None:
            raise NotFound("the account no longer exists")
        return user_out(user)
