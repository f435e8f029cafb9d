"""`patrol workflow`: run the API and the worker, migrate, and manage accounts, the roster and channels."""

from __future__ import annotations

import getpass
import json
import signal
import sys
import threading
from contextlib import suppress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patrol.config import Settings, load_settings
from patrol.logs import configure_logging
from patrol.workflow.actors import SYSTEM
from patrol.workflow.clock import SystemClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import WorkflowError
from patrol.workflow.policy import WorkflowFiles, WorkflowPolicy, load_workflow_policy

app = typer.Typer(
    help="The review workflow: API server, worker, accounts, roster, notification channels.", no_args_is_help=True
)
users_app = typer.Typer(help="Accounts and roles.", no_args_is_help=True)
roster_app = typer.Typer(help="Who works which shift.", no_args_is_help=True)
channels_app = typer.Typer(help="Where notifications go (webhooks, e-mail).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(roster_app, name="roster")
app.add_typer(channels_app, name="channels")
console = Console()

DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="where the database and files live")]


def _settings(data_dir: Path | None) -> Settings:
    return load_settings(**({"data_dir": data_dir} if data_dir else {}))


def _open(data_dir: Path | None) -> tuple[Settings, WorkflowDb, WorkflowPolicy]:
    settings = _settings(data_dir)
    return settings, WorkflowDb(settings.workflow_url), load_workflow_policy(WorkflowFiles.from_settings(settings))


def _fail(exc: WorkflowError) -> typer.Exit:
    console.print(f"[red]{escape(str(exc))}[/red]")
    return typer.Exit(2)


@app.command()
def migrate(data_dir: DataDirOption = None) -> None:
    """Bring the workflow database to the latest schema (the API and worker also do this on start)."""
    from patrol.workflow.migrations.runner import current_revision

    settings = _settings(data_dir)
    db = WorkflowDb(settings.workflow_url)
    with db.engine.connect() as connection:
        console.print(f"workflow database at revision {current_revision(connection)} ({db.dialect})")
    db.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8700,
    insecure_cookies: Annotated[
        bool, typer.Option("--insecure-cookies", help="send the session cookie over plain HTTP (development only)")
    ] = False,
    with_worker: Annotated[
        bool, typer.Option("--with-worker", help="also run the worker in this process (one-box installs)")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the JSON API (OpenAPI docs at /api/v1/docs)."""
    import uvicorn

    from patrol.api.app import create_app_from_settings
    from patrol.api.context import ApiContext
    from patrol.workflow.worker import WorkflowWorker

    configure_logging()
    api = create_app_from_settings(_settings(data_dir), cookie_secure=not insecure_cookies)
    stop = threading.Event()
    if with_worker:
        context: ApiContext = api.state.patrol
        runner = WorkflowWorker(context.db, context.policy, context.clock)
        threading.Thread(target=runner.run, kwargs={"interval_s": 5.0, "stop": stop}, daemon=True).start()
    try:
        uvicorn.run(api, host=host, port=port)
    finally:
        stop.set()


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="one tick, print what it did, exit")] = False,
    interval: Annotated[float, typer.Option(help="seconds between ticks (pages go out on the next tick)")] = 5.0,
    data_dir: DataDirOption = None,
) -> None:
    """Expire claims, write handovers, escalate SLA breaches and deliver notifications, every tick."""
    from patrol.workflow.worker import WorkflowWorker

    configure_logging(quiet=once)
    _, db, policy = _open(data_dir)
    runner = WorkflowWorker(db, policy, SystemClock())
    try:
        if once:
            typer.echo(runner.tick().model_dump_json(indent=2))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with suppress(KeyboardInterrupt):
            runner.run(interval_s=interval, stop=stop)
    finally:
        db.dispose()


# -- users --------------------------------------------------------------------------------------


@users_app.command("add")
def add_user(
    username: str,
    role: Annotated[str, typer.Option(help="patrol_officer | reviewer | field_unit | analyst | admin")],
    unit: Annotated[str | None, typer.Option(help="the unit of a field_unit account (gazetteer unit id)")] = None,
    email: Annotated[str | None, typer.Option(help="for e-mail pages (duty supervisors)")] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Create an account (the first admin is made this way)."""
    from patrol.schema import utcnow
    from patrol.workflow.auth import create_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("password: ")
    _, db, policy = _open(data_dir)
    try:
        with db.session() as session:
            user = create_user(
                session,
                SYSTEM,
                username=username,
                password=password,
                role=role,
                units=policy.units,
                now=utcnow(),
                unit_id=unit,
                email=email,
                display_name=name,
            )
            console.print(f"created {user.username} ({user.role}{', ' + user.unit_id if user.unit_id else ''})")
    except WorkflowError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()


@users_app.command("list")
def list_users(data_dir: DataDirOption = None) -> None:
    from patrol.workflow.auth import list_users as all_users

    _, db, _ = _open(data_dir)
    with db.read_session() as session:
        table = Table()
        for column in ("username", "role", "unit", "email", "active"):
            table.add_column(column)
        for user in all_users(session, SYSTEM):
            table.add_row(
                user.username, user.role, user.unit_id or "", user.email or "", "yes" if user.active else "no"
            )
    db.dispose()
    console.print(table)


# -- roster -------------------------------------------------------------------------------------


@roster_app.command("assign")
def assign(
    shift_id: Annotated[str, typer.Argument(help="e.g. 2026-11-27.day (the local date the shift starts)")],
    people: Annotated[list[str], typer.Argument(help="username:officer or username:supervisor")],
    data_dir: DataDirOption = None,
) -> None:
    """Set who works a shift (replaces the shift's list)."""
    from patrol.schema import utcnow
    from patrol.workflow.shifts import assign_shift

    pairs = []
    for entry in people:
        username, _, duty = entry.partition(":")
        pairs.append((username, duty or "officer"))
    _, db, policy = _open(data_dir)
    try:
        with db.session() as session:
            assign_shift(session, policy, SYSTEM, shift_id, pairs, now=utcnow())
        console.print(f"{shift_id}: " + ", ".join(f"{u} ({d})" for u, d in pairs))
    except WorkflowError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()


@roster_app.command("show")
def show_shift(
    shift_id: Annotated[str | None, typer.Argument(help="default: the shift running now")] = None,
    data_dir: DataDirOption = None,
) -> None:
    from patrol.schema import utcnow
    from patrol.workflow.shifts import assignments_of, shift_at, shift_by_id

    _, db, policy = _open(data_dir)
    try:
        slot = shift_by_id(policy.roster, shift_id) if shift_id else shift_at(policy.roster, utcnow())
        with db.read_session() as session:
            people = [(a.username, a.duty) for a in assignments_of(session, slot.id)]
    except WorkflowError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    zone = policy.roster.zone
    console.print(
        f"[bold]{slot.id}[/bold] {slot.starts_at.astimezone(zone):%Y-%m-%d %H:%M} -"
        f" {slot.ends_at.astimezone(zone):%Y-%m-%d %H:%M} ({policy.roster.timezone})"
    )
    for username, duty in people:
        console.print(f"  {username} ({duty})")
    if not people:
        console.print("  nobody rostered")


# -- channels -----------------------------------------------------------------------------------


@channels_app.command("add")
def add_channel(
    name: str,
    kind: Annotated[str, typer.Option(help="webhook | email")],
    topics: Annotated[list[str], typer.Option("--topic", help="fnmatch pattern over topics, e.g. 'task.*' (repeat)")],
    config: Annotated[str, typer.Option(help='JSON, e.g. {"url": "https://…", "secret": "…"}')],
    unit: Annotated[str | None, typer.Option(help="only events about this unit")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a notification channel."""
    from patrol.schema import utcnow
    from patrol.workflow.outbox import add_channel as create_channel

    try:
        parsed = json.loads(config)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--config") from exc
    _, db, _ = _open(data_dir)
    try:
        with db.session() as session:
            channel = create_channel(
                session, name=name, kind=kind, config=parsed, topics=topics, at=utcnow(), unit_id=unit
            )
            console.print(f"channel {channel.id} ({channel.kind}) for {channel.topics}")
    except WorkflowError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()


@channels_app.command("list")
def list_channels(data_dir: DataDirOption = None) -> None:
    from sqlalchemy import select

    from patrol.workflow.models import NotificationChannel

    _, db, _ = _open(data_dir)
    with db.read_session() as session:
        table = Table()
        for column in ("id", "name", "kind", "topics", "unit", "active"):
            table.add_column(column)
        for channel in session.scalars(select(NotificationChannel).order_by(NotificationChannel.name)):
            table.add_row(
                channel.id,
                escape(channel.name),
                channel.kind,
                channel.topics,
                channel.unit_id or "",
                "yes" if channel.active else "no",
            )
    db.dispose()
    console.print(table)
