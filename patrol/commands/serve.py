"""`patrol serve`: the web console (and the JSON API under /api/v1) for the rota roles."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Annotated, Literal

import typer

from patrol.config import load_settings
from patrol.logs import configure_logging

log = logging.getLogger("patrol.web")


def serve(
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    secure_cookies: Annotated[
        str,
        typer.Option(
            help="auto: Secure cookies when the request came over HTTPS (directly or via a"
            " proxy's X-Forwarded-Proto); always; never (plain-HTTP development only)"
        ),
    ] = "auto",
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="proxies whose X-Forwarded-* headers are trusted (comma-separated)")
    ] = "127.0.0.1",
    worker: Annotated[
        bool, typer.Option(help="run the workflow worker (claim expiry, handovers, SLA, delivery)")
    ] = True,
    ssl_certfile: Annotated[Path | None, typer.Option(help="serve HTTPS with this certificate")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="and this key")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="where the database and files live")] = None,
) -> None:
    """Start the console: queue, items, tasks, handover, search, trends, sources and admin pages."""
    import uvicorn

    from patrol.web.app import create_console_app
    from patrol.web.build import build_console_context, close_console_context
    from patrol.workflow.worker import WorkflowWorker

    if secure_cookies not in ("auto", "always", "never"):
        raise typer.BadParameter("use auto, always or never", param_hint="--secure-cookies")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
    configure_logging()
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    mode: Literal["auto", "always", "never"] = secure_cookies  # type: ignore[assignment]
    context = build_console_context(settings, cookie_security=mode)
    app = create_console_app(context, hsts=ssl_certfile is not None)
    stop = threading.Event()
    if worker:
        background = WorkflowWorker(context.api.db, context.api.policy, context.api.clock)
        threading.Thread(
            target=background.run,
            kwargs={"interval_s": 15.0, "stop": stop},
            name="patrol-worker",
            daemon=True,
        ).start()
    scheme = "https" if ssl_certfile else "http"
    typer.echo(f"patrol console on {scheme}://{host}:{port}/  (Ctrl-C to stop)")
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        )
    finally:
        stop.set()
        close_console_context(context)
