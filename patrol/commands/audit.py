"""`patrol audit`: verify the hash chain of the audit log, print its head, show and export rows."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patrol.config import load_settings
from patrol.schema import utcnow
from patrol.workflow.audit import Anchor, audit_row_dict, audit_rows, record_audit, verify_chain
from patrol.workflow.db import WorkflowDb

app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
console = Console()

DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="where the database and files live")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]


def _db(data_dir: Path | None) -> WorkflowDb:
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    return WorkflowDb(settings.workflow_url)


@app.command()
def verify(
    anchor: Annotated[
        list[str] | None, typer.Option(help="SEQ:HASH recorded earlier by `patrol audit head` (repeatable)")
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Walk the whole chain; list every edited or deleted row. Exit status 1 when anything is wrong."""
    try:
        anchors = [Anchor.parse(a) for a in anchor or []]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--anchor") from exc
    db = _db(data_dir)
    try:
        with db.read_session() as session:
            report = verify_chain(session, anchors=anchors)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(report.model_dump(), ensure_ascii=False, indent=2))
    elif report.ok:
        console.print(f"[green]audit log intact[/green]: {report.rows} rows, head {report.last_seq}:{report.last_hash}")
    else:
        console.print(
            f"[bold red]audit log tampered[/bold red]: {len(report.problems)} problem(s) in {report.rows} rows"
        )
        for problem in report.problems:
            console.print(f"  seq {problem.seq} [{problem.kind}] {escape(problem.message)}")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def head(data_dir: DataDirOption = None) -> None:
    """Print SEQ:HASH of the last row; keep it outside the database to detect a rewritten tail later."""
    db = _db(data_dir)
    try:
        with db.read_session() as session:
            report = verify_chain(session)
    finally:
        db.dispose()
    typer.echo(f"{report.last_seq}:{report.last_hash}")


@app.command()
def show(
    entity_id: Annotated[str | None, typer.Option(help="only rows about this item, task, user, ...")] = None,
    after_seq: Annotated[int, typer.Option(help="start after this sequence number")] = 0,
    limit: int = 50,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Print audit rows (oldest first)."""
    db = _db(data_dir)
    try:
        with db.read_session() as session:
            rows = [
                audit_row_dict(r) for r in audit_rows(session, entity_id=entity_id, after_seq=after_seq, limit=limit)
            ]
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table()
    for column in ("seq", "at", "actor", "action", "entity", "after"):
        table.add_column(column)
    for row in rows:
        after = json.dumps(row["after"], ensure_ascii=False) if row["after"] else ""
        table.add_row(
            str(row["seq"]),
            row["at"],
            escape(row["actor"]),
            row["action"],
            escape(f"{row['entity_type']} {row['entity_id']}"),
            escape(after[:80]),
        )
    console.print(table)


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="JSON lines file to write")],
    after_seq: Annotated[int, typer.Option(help="start after this sequence number")] = 0,
    data_dir: DataDirOption = None,
) -> None:
    """Export rows as JSON lines; the export itself is recorded in the log."""
    db = _db(data_dir)
    count, last = 0, after_seq
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            while True:
                with db.read_session() as session:
                    page = [audit_row_dict(r) for r in audit_rows(session, after_seq=last, limit=1000)]
                if not page:
                    break
                for row in page:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count, last = count + len(page), page[-1]["seq"]
        tmp.replace(out)
        with db.session() as session:
            record_audit(
                session,
                at=utcnow(),
                actor=f"cli:{getpass.getuser()}",
                action="audit.exported",
                entity_type="audit_log",
                entity_id=f"{after_seq + 1}..{last}",
                after={"rows": count, "file": str(out)},
            )
    finally:
        db.dispose()
    console.print(f"exported {count} rows to {out}")
