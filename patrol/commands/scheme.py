"""`patrol scheme`: monitoring schemes (监测方案): add, list, show, change, delete, preview, backfill, alerts.

Adding or changing a query first shows the backtest (what it would have found in the last N days,
per day, with examples, and against the current version), then saves. Every change is written to
the audit log with who made it (`--by`, default the login name).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patrol.config import Settings, load_settings
from patrol.schema import utcnow
from patrol.schemes.backtest import PreviewExample, PreviewResult, preview
from patrol.schemes.context import context_for
from patrol.schemes.environment import SchemeEnvironment
from patrol.schemes.live import backfill_scheme
from patrol.schemes.post_index import SchemePostIndex
from patrol.schemes.query import QueryError
from patrol.schemes.quiet_hours import LOCAL_ZONE
from patrol.schemes.registry import (
    AUDIT_ENTITY,
    SchemeChange,
    SchemeSpec,
    SchemeView,
    Subscriber,
    add_scheme,
    change_scheme,
    delete_scheme,
    list_schemes,
    match_counts,
)
from patrol.workflow.errors import WorkflowError

app = typer.Typer(
    help="Monitoring schemes (监测方案): saved queries with a purpose, matched live, alerting subscribers.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)

DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="where the database and files live")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
ByOption = Annotated[str | None, typer.Option("--by", help="who makes the change (audit log); default: login name")]
DaysOption = Annotated[int, typer.Option("--days", min=1, help="backtest over the last N days")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="save without asking after the backtest")]


def _settings(data_dir: Path | None) -> Settings:
    return load_settings(**({"data_dir": data_dir} if data_dir is not None else {}))


def _actor(by: str | None) -> str:
    if by:
        return by
    try:
        return os.environ.get("PATROL_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _fail(message: str, code: int = 1) -> typer.Exit:
    # No wrapping: a wrapped line would move the caret away from the column it points at.
    errors.print(escape(message), style="red", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def _parse_time(value: str | None, option: str) -> datetime | None:
    """ISO 8601; without a zone it is local time (Asia/Shanghai); a bare date means its midnight."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} {value!r}: write a date or time like 2026-12-05 or 2026-12-05T08:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_ZONE)
    return parsed


def _subscribers(values: list[str] | None) -> list[Subscriber]:
    found = []
    for value in values or []:
        try:
            found.append(Subscriber.parse(value))
        except ValueError as exc:
            raise _fail(str(exc).splitlines()[0] if isinstance(exc, ValidationError) else str(exc)) from None
    return found


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())


def _print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _window(view: SchemeView) -> str:
    if view.active_from is None and view.active_until is None:
        return "always"
    return f"{_local(view.active_from)} → {_local(view.active_until)}"


# -- backtest output ----------------------------------------------------------------------------


def _print_examples(title: str, examples: list[PreviewExample]) -> None:
    if not examples:
        return
    console.print(f"[bold]{escape(title)}[/bold]")
    for example in examples:
        console.print(
            f"  {_local(example.published_at)} {escape(example.source_id)} {escape(example.post_id)}"
            f" [dim]({escape(', '.join(example.terms))})[/dim]"
        )
        console.print(f"    {escape(example.snippet)}")


def _print_preview(result: PreviewResult) -> None:
    console.print(f"query read as: [bold]{escape(result.canonical)}[/bold]")
    console.print(
        f"backtest over the last {result.days} days: [bold]{result.matches}[/bold] of {result.posts_scanned}"
        " stored posts would have matched"
    )
    table = Table(title="matches per day (Asia/Shanghai)")
    table.add_column("day")
    table.add_column("new query", justify="right")
    if result.current is not None:
        table.add_column(f"current (v{result.current.version})", justify="right")
    for day, count in result.per_day.items():
        row = [day, str(count)]
        if result.current is not None:
            row.append(str(result.current.per_day.get(day, 0)))
        table.add_row(*row)
    console.print(table)
    _print_examples("examples", result.examples)
    current = result.current
    if current is not None:
        console.print(
            f"current version v{current.version} ({escape(current.query)}): {current.matches} matches;"
            f" only the new query: {current.only_new}, only the current one: {current.only_current}"
        )
        _print_examples("found only by the new query", current.examples_only_new)
        _print_examples("found only by the current query", current.examples_only_current)


def _backtest(env: SchemeEnvironment, query: str, days: int, name: str | None) -> PreviewResult:
    try:
        return preview(env, query, days=days, name=name)
    except QueryError as exc:
        raise _fail(f"the query does not parse:\n{exc}", 2) from None


def _confirm(yes: bool, what: str) -> bool:
    if yes or not sys.stdin.isatty():
        return True
    return typer.confirm(what, default=True)


# -- commands -----------------------------------------------------------------------------------


@app.command("preview")
def preview_command(
    query: Annotated[str, typer.Option("--query", "-q", help="the query to backtest")],
    days: DaysOption = 7,
    name: Annotated[str | None, typer.Option("--name", help="compare with this scheme's current query")] = None,
    examples: Annotated[int, typer.Option("--examples", min=0, help="how many example posts")] = 5,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Backtest a query on the stored posts: matches, per day, examples (and against scheme --name)."""
    with SchemeEnvironment(_settings(data_dir)) as env:
        try:
            result = preview(env, query, days=days, name=name, examples=examples)
        except QueryError as exc:
            raise _fail(f"the query does not parse:\n{exc}", 2) from None
        except WorkflowError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        _print_json(result.model_dump(mode="json"))
    else:
        _print_preview(result)


@app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="a short, unique name, e.g. 香坊燃气泄漏")],
    purpose: Annotated[str, typer.Option("--purpose", help="why this scheme exists (required; shown everywhere)")],
    query: Annotated[str, typer.Option("--query", "-q", help="what to look for (see docs/schemes.md)")],
    owner: Annotated[str | None, typer.Option("--owner", help="who answers for it; default: --by")] = None,
    start: Annotated[str | None, typer.Option("--start", help="active from (local time), e.g. 2026-12-05")] = None,
    end: Annotated[str | None, typer.Option("--end", help="active until (local time), e.g. 2026-12-08")] = None,
    mode: Annotated[str, typer.Option("--mode", help="realtime | digest | spike")] = "realtime",
    digest: Annotated[str, typer.Option("--digest", help="digest period: hourly | daily")] = "daily",
    spike_ratio: Annotated[float, typer.Option("--spike-ratio", help="spike: times the usual hourly volume")] = 3.0,
    spike_min: Annotated[int, typer.Option("--spike-min", help="spike: at least this many in the hour")] = 5,
    subscriber: Annotated[
        list[str] | None,
        typer.Option("--subscriber", "-s", help="unit:UNIT_ID or user:NAME, optionally ,quiet=22:00-07:00"),
    ] = None,
    days: DaysOption = 7,
    no_preview: Annotated[bool, typer.Option("--no-preview", help="skip the backtest")] = False,
    yes: YesOption = False,
    by: ByOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Add a scheme, after showing what its query would have found in the last --days days."""
    actor = _actor(by)
    try:
        spec = SchemeSpec.model_validate(
            {
                "name": name,
                "purpose": purpose,
                "owner": owner or actor,
                "query": query,
                "active_from": _parse_time(start, "--start"),
                "active_until": _parse_time(end, "--end"),
                "alert_mode": mode,
                "digest_period": digest,
                "spike_ratio": spike_ratio,
                "spike_min_count": spike_min,
                "subscribers": _subscribers(subscriber),
            }
        )
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None
    with SchemeEnvironment(_settings(data_dir)) as env:
        result = None if no_preview else _backtest(env, spec.query, days, None)
        if result is not None and not as_json:
            _print_preview(result)
        if not _confirm(yes, f"save scheme {name!r}?"):
            raise typer.Exit(1)
        try:
            with env.workflow.session() as session:
                view = add_scheme(session, spec, actor=actor, context=context_for(env.settings))
        except QueryError as exc:
            raise _fail(f"the query does not parse:\n{exc}", 2) from None
        except WorkflowError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        _print_json(
            {
                "scheme": view.model_dump(mode="json"),
                "backtest": result.model_dump(mode="json") if result else None,
            }
        )
    else:
        console.print(f"saved scheme [bold]{escape(view.name)}[/bold] ({view.id}), version {view.version}")


@app.command("list")
def list_command(
    active: Annotated[bool, typer.Option("--active", help="only schemes active now")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Every scheme with its purpose, owner, alert mode, window, subscribers and match counts."""
    now = utcnow()
    with SchemeEnvironment(_settings(data_dir)) as env, env.workflow.read_session() as session:
        views = list_schemes(session, active_at=now if active else None)
        totals = match_counts(session)
        recent = match_counts(session, since=now - timedelta(days=7))
    rows = [
        view.model_dump(mode="json")
        | {
            "matches": totals.get(view.id, 0),
            "matches_7d": recent.get(view.id, 0),
            "active": view.is_active(now),
        }
        for view in views
    ]
    if as_json:
        _print_json(rows)
        return
    if not views:
        console.print("no schemes yet; add one with: patrol scheme add NAME --purpose TEXT --query QUERY")
        return
    table = Table(title="monitoring schemes (监测方案)")
    for column in ("name", "purpose", "owner", "query", "mode", "window", "subscribers", "7d", "all", "v"):
        table.add_column(column)
    for view, row in zip(views, rows, strict=True):
        mode = view.alert_mode + (f" ({view.digest_period})" if view.alert_mode == "digest" else "")
        name = escape(view.name) + ("" if row["active"] else " [dim](inactive)[/dim]")
        table.add_row(
            name,
            escape(view.purpose),
            escape(view.owner),
            escape(view.query),
            mode,
            _window(view),
            escape(", ".join(s.label() for s in view.subscribers) or "-"),
            str(row["matches_7d"]),
            str(row["matches"]),
            str(view.version),
        )
    console.print(table)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="scheme name or id")],
    days: Annotated[int, typer.Option("--days", min=1, help="the period of the figures: the last N days")] = 7,
    top: Annotated[int, typer.Option("--top", min=1, help="how many top posts, words, sources, places")] = 10,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """One scheme: its settings; what it found (timeline, top posts, words, sources, places); its history."""
    from patrol.schemes.summary import scheme_summary
    from patrol.workflow.audit import audit_row_dict, audit_rows

    until = utcnow()
    with SchemeEnvironment(_settings(data_dir)) as env:
        try:
            with env.workflow.read_session() as session:
                summary = scheme_summary(
                    session,
                    name,
                    since=until - timedelta(days=days),
                    until=until,
                    store_path=env.settings.sqlite_path,
                    top=top,
                )
                rows = audit_rows(session, entity_type=AUDIT_ENTITY, entity_id=summary.scheme.id)
                history = [audit_row_dict(r) for r in rows]
        except WorkflowError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        _print_json(
            {
                "scheme": summary.scheme.model_dump(mode="json"),
                "summary": summary.model_dump(mode="json"),
                "history": history,
            }
        )
        return
    view = summary.scheme
    console.print(f"[bold]{escape(view.name)}[/bold] ({view.id}) v{view.version}: {escape(view.purpose)}")
    console.print(f"  owner {escape(view.owner)}; query {escape(view.query)}")
    console.print(f"  alerts {view.alert_mode}; window {_window(view)}")
    console.print(f"  subscribers {escape(', '.join(s.label() for s in view.subscribers) or '-')}")
    console.print(
        f"last {days} days: {summary.matches} posts in {summary.groups} near-duplicate groups"
        f" ({summary.life_safety} life-safety)"
    )
    console.print("  per day: " + "  ".join(f"{day[5:]} {count}" for day, count in summary.per_day.items()))
    for label, pairs in (
        ("words", summary.top_terms),
        ("sources", summary.sources),
        ("jurisdictions", summary.jurisdictions),
        ("places", summary.places),
    ):
        console.print(f"  {label}: " + (escape("  ".join(f"{k}({v})" for k, v in pairs)) or "-"))
    console.print("top posts:")
    for post in summary.top_posts:
        life = "[bold red]LIFE-SAFETY[/bold red] " if post.life_safety else ""
        console.print(
            f"  {life}{_local(post.published_at)} {escape(post.source_id)} {escape(post.post_id)}"
            f" x{post.copies} {escape(post.title or post.snippet or '')}"
        )
    console.print("history:")
    for row in history:
        console.print(f"  {row['at']} {escape(row['actor'])} {row['action']}")


@app.command("change")
def change_command(
    name: Annotated[str, typer.Argument(help="scheme name or id")],
    new_name: Annotated[str | None, typer.Option("--name", help="rename")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="a new query (a new version)")] = None,
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    start: Annotated[str | None, typer.Option("--start", help="active from (local time)")] = None,
    end: Annotated[str | None, typer.Option("--end", help="active until (local time)")] = None,
    always: Annotated[bool, typer.Option("--always", help="remove the active window")] = False,
    mode: Annotated[str | None, typer.Option("--mode", help="realtime | digest | spike")] = None,
    digest: Annotated[str | None, typer.Option("--digest", help="hourly | daily")] = None,
    spike_ratio: Annotated[float | None, typer.Option("--spike-ratio")] = None,
    spike_min: Annotated[int | None, typer.Option("--spike-min")] = None,
    add_subscriber: Annotated[
        list[str] | None, typer.Option("--add-subscriber", help="unit:ID or user:NAME[,quiet=HH:MM-HH:MM]")
    ] = None,
    remove_subscriber: Annotated[
        list[str] | None, typer.Option("--remove-subscriber", help="unit:ID or user:NAME")
    ] = None,
    days: DaysOption = 7,
    yes: YesOption = False,
    by: ByOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Change a scheme; a new query is backtested against the current one first."""
    actor = _actor(by)
    try:
        change = SchemeChange.model_validate(
            {
                "name": new_name,
                "purpose": purpose,
                "owner": owner,
                "query": query,
                "active_from": _parse_time(start, "--start"),
                "active_until": _parse_time(end, "--end"),
                "clear_window": always,
                "alert_mode": mode,
                "digest_period": digest,
                "spike_ratio": spike_ratio,
                "spike_min_count": spike_min,
                "add_subscribers": _subscribers(add_subscriber),
                "remove_subscribers": remove_subscriber or [],
            }
        )
    except ValidationError as exc:
        raise _fail(_validation_message(exc)) from None
    with SchemeEnvironment(_settings(data_dir)) as env:
        result = None
        if query is not None:
            result = _backtest(env, query, days, name)
            if not as_json:
                _print_preview(result)
            if not _confirm(yes, f"save the new query of {name!r}?"):
                raise typer.Exit(1)
        try:
            with env.workflow.session() as session:
                view = change_scheme(session, name, change, actor=actor, context=context_for(env.settings))
        except QueryError as exc:
            raise _fail(f"the query does not parse:\n{exc}", 2) from None
        except WorkflowError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        _print_json(
            {
                "scheme": view.model_dump(mode="json"),
                "backtest": result.model_dump(mode="json") if result else None,
            }
        )
    else:
        console.print(f"changed scheme [bold]{escape(view.name)}[/bold], now version {view.version}")


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="scheme name or id")],
    yes: YesOption = False,
    by: ByOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete a scheme with its matches and pending alerts; the audit log keeps what it was."""
    with SchemeEnvironment(_settings(data_dir)) as env:
        if not _confirm(yes, f"delete scheme {name!r} and its matches?"):
            raise typer.Exit(1)
        try:
            with env.workflow.session() as session:
                view = delete_scheme(session, name, actor=_actor(by))
        except WorkflowError as exc:
            raise _fail(str(exc)) from None
        with SchemePostIndex(env.settings.sqlite_path) as index:
            index.remove_scheme(view.id)
    console.print(f"deleted scheme [bold]{escape(view.name)}[/bold] ({view.id})")


@app.command("backfill")
def backfill_command(
    name: Annotated[str, typer.Argument(help="scheme name or id")],
    days: DaysOption = 30,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Match a scheme against stored posts of the last N days (history for its page and spike baseline)."""
    with SchemeEnvironment(_settings(data_dir)) as env:
        try:
            report = backfill_scheme(env, name, days=days)
        except (QueryError, WorkflowError) as exc:
            raise _fail(str(exc)) from None
    if as_json:
        _print_json(report.model_dump(mode="json"))
    else:
        console.print(
            f"scanned {report.posts} posts: {report.new_matches} new matches, {report.already_matched} already stored"
        )


@app.command("alerts")
def alerts_command(
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Send what is due: alerts whose quiet hours ended, digests of finished hours/days, spikes."""
    from patrol.schemes.alerts import run_scheme_alerts

    with SchemeEnvironment(_settings(data_dir)) as env, env.workflow.session() as session:
        report = run_scheme_alerts(session, utcnow())
    if as_json:
        _print_json(report.model_dump(mode="json"))
    else:
        console.print(
            f"released {report.released} held alerts; digests {report.digests}, spikes {report.spikes};"
            f" queued {report.queued}, held for quiet hours {report.held}"
        )
