"""The console application: server-rendered pages for the rota roles, the JSON API beside them.

`create_console_app(context)` builds it from a `ConsoleContext`; `patrol serve` and the demo build
the context from the settings with `build_console_context`. Requests under /api/v1 go to the
workflow's JSON API (`patrol.api`), everything else to the pages here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from patrol.api.app import API_PREFIX, create_app
from patrol.ops.health import service_router
from patrol.web.context import ConsoleContext
from patrol.web.routes import admin, auth, handover, items, queue, schemes, search, sources, tasks, trends
from patrol.web.security import SecurityHeadersMiddleware
from patrol.web.session import CsrfRejected, LoginRequired
from patrol.web.templating import render
from patrol.workflow.errors import NotFound, PermissionDenied, WorkflowError

STATIC_DIR = Path(__file__).resolve().parent / "static"
FRAGMENT_HEADER = "x-patrol-fragment"


class _ApiDispatch:
    """Sends /api/v1/... to the JSON API app and the rest to the console."""

    def __init__(self, app: ASGIApp, api: ASGIApp) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(f"{API_PREFIX}/"):
            await self.api(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _wants_fragment(request: Request) -> bool:
    return request.headers.get(FRAGMENT_HEADER) == "1"


async def _login_required(request: Request, exc: Exception) -> Response:
    if _wants_fragment(request) or request.method != "GET":
        return PlainTextResponse("log in again", status_code=status.HTTP_401_UNAUTHORIZED)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=status.HTTP_303_SEE_OTHER)


def _error_page(request: Request, code: int, title: str, message: str) -> Response:
    if _wants_fragment(request):
        return PlainTextResponse(message, status_code=code)
    return render(request, "error.html", {"title": title, "message": message}, status_code=code)


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return _error_page(
        request,
        status.HTTP_403_FORBIDDEN,
        "Form refused",
        "The form did not carry this session's security token (it may be from another site, or the page"
        " is older than your login). Go back, reload the page and try again.",
    )


async def _forbidden(request: Request, exc: Exception) -> Response:
    return _error_page(request, status.HTTP_403_FORBIDDEN, "Not allowed", str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error_page(request, status.HTTP_404_NOT_FOUND, "Not found", str(exc) or "There is no such page.")


async def _workflow_error(request: Request, exc: Exception) -> Response:
    return _error_page(request, status.HTTP_409_CONFLICT, "Not possible", str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    names = {".".join(str(part) for part in e.get("loc", ())[1:]) or "request" for e in exc.errors()}
    fields = ", ".join(sorted(names))
    return _error_page(
        request,
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "Wrong value",
        f"The page was asked for with a value it cannot use ({fields}). Go back and correct it.",
    )


async def _http_404(request: Request, exc: Exception) -> Response:
    return _error_page(request, status.HTTP_404_NOT_FOUND, "Not found", "There is no such page.")


def create_console_app(context: ConsoleContext, *, hsts: bool = False) -> FastAPI:
    app = FastAPI(title="opinion-patrol console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = context
    app.state.patrol = context.api
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(PermissionDenied, _forbidden)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(WorkflowError, _workflow_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(404, _http_404)
    for module in (auth, queue, items, tasks, handover, search, trends, schemes, sources, admin):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # /healthz, /readyz and /metrics come from the operations module, shared with the workers.
    app.include_router(service_router(context.settings, context.api.db))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    api = create_app(context.api)
    app.add_middleware(_ApiDispatch, api=api)
    app.add_middleware(SecurityHeadersMiddleware, hsts=hsts)
    return app


__all__ = ["create_console_app"]
