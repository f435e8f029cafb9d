"""`patrol report`: build the weekly opinion-trend report, and list the reports built so far."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patrol.config import Settings, load_settings

app = typer.Typer(help="Weekly opinion-trend reports (HTML, PDF, Excel).", no_args_is_help=True)
console = Console()

DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="where the database and files live")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
StoreChoice = Literal["auto", "sqlite", "elasticsearch"]


def _settings(data_dir: Path | None) -> Settings:
    return load_settings(**({"data_dir": data_dir} if data_dir is not None else {}))


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]report not built[/red]: {escape(message)}")
    return typer.Exit(2)


@app.command()
def weekly(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week such as 2026-W47; default: the last complete week (Asia/Shanghai)"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="folder to write into; default <data-dir>/reports/weekly/<week>"),
    ] = None,
    formats: Annotated[str, typer.Option("--format", help="comma-separated: html,pdf,xlsx")] = "html,pdf,xlsx",
    store: Annotated[
        StoreChoice, typer.Option(help="post store to read: auto (Elasticsearch when PATROL_ES_URL is set)")
    ] = "auto",
    real_authors: Annotated[
        bool, typer.Option("--real-authors", help="show authors as crawled instead of pseudonyms")
    ] = False,
    notify: Annotated[bool, typer.Option("--notify", help="announce it through the notification outbox")] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Build the weekly report for an ISO week: summary, volume, topics, sentiment, places, risk and
    verification, collection coverage, and each active monitoring scheme."""
    from patrol.datafiles import ConfigFileError
    from patrol.logs import configure_logging
    from patrol.reports import MissingCjkFont, ReportFormatError, ReportWeek, WeekError, build_weekly_report
    from patrol.schema import utcnow

    configure_logging(quiet=as_json)
    settings = _settings(data_dir)
    try:
        chosen = ReportWeek.parse(week) if week else ReportWeek.last_complete(utcnow())
        record = build_weekly_report(
            settings,
            chosen,
            out_dir=out,
            formats=formats,
            pseudonymise=not real_authors,
            store=store,
        )
    except (WeekError, ReportFormatError, MissingCjkFont, FileNotFoundError, ConfigFileError) as exc:
        raise _fail(str(exc)) from exc
    event_id = None
    if notify:
        from patrol.reports.notify import notify_report_ready
        from patrol.workflow.db import WorkflowDb

        db = WorkflowDb(settings.workflow_url)
        try:
            event_id = notify_report_ready(db, record, now=utcnow())
        finally:
            db.dispose()
    if as_json:
        typer.echo(
            json.dumps(record.model_dump(mode="json") | {"notification": event_id}, ensure_ascii=False, indent=2)
        )
        return
    console.print(
        f"weekly report [bold]{record.week}[/bold] built in {record.seconds:.1f} s: {escape(record.directory)}"
    )
    for item in record.files:
        console.print(f"  {item.format:5s} {escape(item.name)} ({item.bytes:,} bytes)")
    for number, headline in enumerate(record.key_findings, start=1):
        console.print(f"  {number}. {escape(headline)}")
    if notify:
        console.print(f"notification: {event_id or 'already announced for this week'}")


@app.command(name="list")
def list_command(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """The weekly reports built so far, newest week first."""
    from patrol.reports import list_reports
    from patrol.reports.archive import summary_line

    records = list_reports(_settings(data_dir))
    if as_json:
        typer.echo(json.dumps([summary_line(r) for r in records], ensure_ascii=False, indent=2))
        return
    if not records:
        console.print("no reports yet: build one with `patrol report weekly`")
        return
    table = Table(title="weekly reports")
    for column in ("week", "generated", "formats", "posts", "folder"):
        table.add_column(column)
    for record in records:
        line = summary_line(record)
        table.add_row(
            record.week,
            f"{record.generated_at:%Y-%m-%d %H:%M}Z",
            ",".join(line["formats"]),
            str(line["posts"] if line["posts"] is not None else "-"),
            escape(record.directory),
        )
    console.print(table)
