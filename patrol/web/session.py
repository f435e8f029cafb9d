"""Who is looking at a page, and the checks every console route makes before it does anything.

The console logs in with the workflow's cookie sessions (`patrol.workflow.auth`): the session
cookie is HttpOnly and SameSite=Strict, and the session's CSRF token, which the workflow stores
only as a hash, travels in a second HttpOnly cookie so the server can put it in every form it
renders. A form post must bring the token back in its `csrf_token` field (or the `X-CSRF-Token`
header); it is checked against the stored hash, so a cookie an attacker managed to plant is useless.

Each route declares its guard with `page_guard(...)` or `form_guard(...)`; the guard function
carries `patrol_guard` so a test can prove that no route was left without one.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import FormData

from patrol.api.context import CSRF_HEADER, SESSION_COOKIE
from patrol.web.context import ConsoleContext
from patrol.workflow.actors import Actor, Permission, Role, require
from patrol.workflow.auth import actor_of, resolve_token
from patrol.workflow.errors import PermissionDenied

CSRF_COOKIE = "patrol_csrf"
LOGIN_CSRF_COOKIE = "patrol_login_csrf"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, fragments answer 401."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token (or from another site)."""


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    display_name: str
    csrf_token: str

    @property
    def username(self) -> str:
        return self.actor.username

    @property
    def role(self) -> Role:
        return self.actor.role

    def can(self, permission: Permission | str) -> bool:
        return self.actor.can(Permission(permission))

    @property
    def is_admin(self) -> bool:
        return self.actor.role is Role.ADMIN


def console_of(request: Request) -> ConsoleContext:
    context: ConsoleContext = request.app.state.console
    return context


def cookie_secure(request: Request) -> bool:
    mode = console_of(request).cookie_security
    if mode == "always":
        return True
    if mode == "never":
        return False
    return request.url.scheme == "https"


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def current_viewer(request: Request) -> Viewer:
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    console = console_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    csrf = request.cookies.get(CSRF_COOKIE)
    if not token or not csrf:
        raise LoginRequired()
    with console.api.db.read_session() as session:
        resolved = resolve_token(session, token, now=console.api.clock.now(), kind="session")
        # A session made through the JSON API has no CSRF cookie here: the console needs its own login.
        if resolved is None or not resolved.csrf_matches(csrf):
            raise LoginRequired()
        viewer = Viewer(
            actor=actor_of(resolved.user),
            display_name=resolved.user.display_name or resolved.user.username,
            csrf_token=csrf,
        )
    request.state.viewer = viewer
    return viewer


def _check_access(
    viewer: Viewer, permissions: tuple[Permission, ...], any_of: tuple[Permission, ...], role: Role | None
) -> None:
    for permission in permissions:
        require(viewer.actor, permission)
    if any_of and not any(viewer.actor.can(p) for p in any_of):
        names = " or ".join(p.value for p in any_of)
        raise PermissionDenied(
            f"{viewer.username} ({viewer.role.value}) may not open this page; it needs {names}"
        )
    if role is not None and viewer.actor.role is not role and viewer.actor.role is not Role.ADMIN:
        raise PermissionDenied(
            f"{viewer.username} ({viewer.role.value}) may not open this page; it is for {role.value}"
        )


def _same_origin(request: Request) -> bool:
    # Browsers say where a POST comes from: Sec-Fetch-Site, and Origin (which is "null" when the
    # referrer policy withholds it). A cross-site form or fetch is refused before the token is read.
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def checked_form(request: Request, viewer: Viewer) -> FormData:
    form = await request.form()
    presented = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not isinstance(presented, str) or not _same_origin(request):
        raise CsrfRejected()
    console = console_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    with console.api.db.read_session() as session:
        resolved = resolve_token(session, token, now=console.api.clock.now(), kind="session")
        if resolved is None or not resolved.csrf_matches(presented):
            raise CsrfRejected()
    return form


def page_guard(
    *permissions: Permission, any_of: tuple[Permission, ...] = (), role: Role | None = None
) -> Callable[[Request], Viewer]:
    """A dependency for GET routes: the logged-in viewer, if their role may see the page."""

    def guard(request: Request) -> Viewer:
        viewer = current_viewer(request)
        _check_access(viewer, permissions, any_of, role)
        return viewer

    guard.patrol_guard = ("page", permissions, any_of, role)  # type: ignore[attr-defined]
    return guard


@dataclass(frozen=True)
class FormRequest:
    viewer: Viewer
    form: FormData

    def text(self, name: str, default: str = "") -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else default

    def optional(self, name: str) -> str | None:
        return self.text(name) or None

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]

    def upload(self, name: str) -> Any:
        value = self.form.get(name)
        return None if value is None or isinstance(value, str) else value


def form_guard(
    *permissions: Permission, any_of: tuple[Permission, ...] = (), role: Role | None = None
) -> Callable[[Request], Awaitable[FormRequest]]:
    """A dependency for POST routes: the viewer's role is checked, then the CSRF token."""

    async def guard(request: Request) -> FormRequest:
        viewer = current_viewer(request)
        form = await checked_form(request, viewer)
        _check_access(viewer, permissions, any_of, role)
        return FormRequest(viewer=viewer, form=form)

    guard.patrol_guard = ("form", permissions, any_of, role)  # type: ignore[attr-defined]
    return guard


def safe_return_path(value: str | None, default: str) -> str:
    """A same-site path to go back to after a form; anything else (//evil, http:…) gives `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x20 for c in value):
        return default
    return value
