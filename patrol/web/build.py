"""Building a console from the settings, and running it (in the foreground or in a thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from patrol.api.context import ApiContext
from patrol.config import Settings
from patrol.store.base import PostStore
from patrol.store.factory import open_post_store
from patrol.store.sqlite import SqlitePostStore
from patrol.thresholds import load_thresholds
from patrol.web.app import create_console_app
from patrol.web.context import ConsoleContext, CookieSecurity
from patrol.web.posts import PostReader, ensure_thread_index
from patrol.web.saved_searches import SavedSearchStore
from patrol.web.store_pool import PerThreadSqliteStore
from patrol.web.text import PipelineTextReader
from patrol.workflow.auth import DEFAULT_HASHER
from patrol.workflow.clock import Clock, SystemClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.policy import WorkflowFiles, load_workflow_policy
from patrol.workflow.worker import WorkflowWorker


def build_console_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    cookie_security: CookieSecurity = "auto",
    hasher: PasswordHasher | None = None,
) -> ConsoleContext:
    """The console's parts over the configured databases and files (the post store is opened here)."""
    settings.ensure_dirs()
    policy = load_workflow_policy(WorkflowFiles.from_settings(settings))
    db = WorkflowDb(settings.workflow_url)
    api = ApiContext(
        db=db,
        policy=policy,
        evidence=EvidenceStore(settings.data_dir / "evidence", policy.evidence),
        clock=clock or SystemClock(),
        hasher=hasher or DEFAULT_HASHER,
        cookie_secure=cookie_security != "never",
    )
    text_reader = PipelineTextReader(settings)
    thresholds = load_thresholds(settings.thresholds_file)
    posts: PostStore
    if settings.es_url is None:
        posts = PerThreadSqliteStore(
            lambda: SqlitePostStore(
                settings.sqlite_path, tokenize=text_reader.tokenize_query, thresholds=thresholds
            )
        )
        posts.get("")  # opens the file (and creates its tables) now, in this thread
    else:
        posts = open_post_store(settings, text_reader.tokenize_query, thresholds)
    ensure_thread_index(settings.sqlite_path)
    return ConsoleContext(
        api=api,
        settings=settings,
        posts=posts,
        post_reader=PostReader(settings.sqlite_path),
        saved_searches=SavedSearchStore(settings.data_dir / "console.db"),
        cookie_security=cookie_security,
        text_reader=text_reader,
    )


def close_console_context(context: ConsoleContext) -> None:
    context.post_reader.close()
    context.saved_searches.close()
    context.posts.close()
    context.api.db.dispose()


@dataclass
class RunningConsole:
    url: str
    app: FastAPI
    context: ConsoleContext
    stop: Callable[[], None]


def run_in_thread(
    app: FastAPI,
    context: ConsoleContext,
    *,
    host: str,
    port: int,
    with_worker: bool = True,
    worker_interval_s: float = 15.0,
    startup_timeout_s: float = 30.0,
) -> RunningConsole:
    """Serve `app` with uvicorn in a daemon thread (and the workflow worker beside it, if asked)."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", proxy_headers=True
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="patrol-console", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(
                f"the console did not start on {host}:{port}; is the port free? (try --port 0)"
            )
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    stop_worker = threading.Event()
    worker_thread = None
    if with_worker:
        worker = WorkflowWorker(context.api.db, context.api.policy, context.api.clock)
        worker_thread = threading.Thread(
            target=worker.run,
            kwargs={"interval_s": worker_interval_s, "stop": stop_worker},
            name="patrol-worker",
            daemon=True,
        )
        worker_thread.start()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host

    def stop() -> None:
        stop_worker.set()
        server.should_exit = True
        thread.join(timeout=15)
        if worker_thread is not None:
            worker_thread.join(timeout=15)
        close_console_context(context)

    return RunningConsole(url=f"http://{shown_host}:{bound}/", app=app, context=context, stop=stop)


def start_console(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    with_worker: bool = True,
    clock: Clock | None = None,
) -> RunningConsole:
    context = build_console_context(settings, clock=clock, cookie_security="auto")
    return run_in_thread(create_console_app(context), context, host=host, port=port, with_worker=with_worker)
