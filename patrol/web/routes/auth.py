"""Log in (argon2 passwords, rate limited, with a login CSRF token), log out, and the start page."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from patrol.api.context import SESSION_COOKIE
from patrol.web.session import (
    CSRF_COOKIE,
    LOGIN_CSRF_COOKIE,
    FormRequest,
    Viewer,
    console_of,
    cookie_secure,
    current_viewer,
    form_guard,
    new_login_csrf,
    page_guard,
    safe_return_path,
)
from patrol.web.templating import render
from patrol.workflow.actors import Role
from patrol.workflow.auth import authenticate, issue_token, revoke_token
from patrol.workflow.errors import AuthenticationFailed

router = APIRouter()

HOME_BY_ROLE = {
    Role.PATROL_OFFICER: "/queue",
    Role.REVIEWER: "/queue",
    Role.FIELD_UNIT: "/my-tasks",
    Role.ANALYST: "/trends",
    Role.ADMIN: "/admin",
}


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(
    request: Request,
    *,
    error: str | None = None,
    next_path: str = "",
    username: str = "",
    status_code: int = 200,
    retry_after: int | None = None,
) -> Response:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        {"error": error, "next_path": next_path, "username": username, "login_csrf": token},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/login",
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, next_path=safe_return_path(next, ""))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    console = console_of(request)
    next_path = safe_return_path(next, "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_csrf):
        return _login_page(
            request,
            error="The login form expired; please try again.",
            next_path=next_path,
            username=username,
            status_code=status.HTTP_403_FORBIDDEN,
        )
    address, now = _client_address(request), console.api.clock.now()
    wait = console.login_limiter.retry_after(address, username, now=now)
    if wait:
        return _login_page(
            request,
            error=f"Too many failed logins. Wait {wait} seconds and try again.",
            next_path=next_path,
            username=username,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            retry_after=wait,
        )
    refused = False
    with console.api.db.session() as session:
        try:
            user = authenticate(session, username, password, now=now, hasher=console.api.hasher)
        except AuthenticationFailed:
            refused = True  # the failed-login counter must still be committed
        else:
            issued = issue_token(session, user, kind="session", now=now, ttl=console.api.token_ttl)
            role = Role(user.role)
    if refused:
        console.login_limiter.failed(address, username, now=now)
        return _login_page(
            request,
            error="Wrong username or password, or the account is locked.",
            next_path=next_path,
            username=username,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    console.login_limiter.succeeded(address, username)
    assert issued.csrf_token is not None
    response = RedirectResponse(next_path or HOME_BY_ROLE[role], status_code=status.HTTP_303_SEE_OTHER)
    secure = cookie_secure(request)
    max_age = int(console.api.token_ttl.total_seconds())
    for name, value in ((SESSION_COOKIE, issued.token), (CSRF_COOKIE, issued.csrf_token)):
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/"
        )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, form: Annotated[FormRequest, Depends(form_guard())]) -> Response:
    console = console_of(request)
    with console.api.db.session() as session:
        revoke_token(session, request.cookies.get(SESSION_COOKIE, ""), now=console.api.clock.now())
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, viewer: Annotated[Viewer, Depends(page_guard())]) -> Response:
    return RedirectResponse(HOME_BY_ROLE[current_viewer(request).role], status_code=status.HTTP_303_SEE_OTHER)
