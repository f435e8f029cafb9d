"""What the console's form handlers share: run a workflow change, then go back with a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Path, Request, status
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from patrol.web.session import FormRequest, console_of, cookie_secure, safe_return_path
from patrol.workflow.errors import NotFound, PermissionDenied, WorkflowError

ObjectId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


def redirect_with_flash(request: Request, target: str, kind: str, message: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    console_of(request).flash.set(
        response, "error" if kind == "error" else "ok", message, secure=cookie_secure(request)
    )
    return response


def run_change(
    request: Request, form: FormRequest, default_return: str, change: Callable[[Session], str]
) -> RedirectResponse:
    """Run `change` in one write transaction; its message (or the refusal) is shown on the next page.

    A permission refusal or a missing object is not a flash message: it answers 403 or 404.
    """
    console = console_of(request)
    target = safe_return_path(form.text("return_to"), default_return)
    try:
        with console.api.db.session() as session:
            message = change(session)
    except (PermissionDenied, NotFound):
        raise
    except WorkflowError as exc:
        return redirect_with_flash(request, target, "error", str(exc))
    return redirect_with_flash(request, target, "ok", message)
