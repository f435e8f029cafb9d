"""`patrol sources`: how each source's latest crawls went."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patrol.config import load_settings
from patrol.ledger import Ledger

console = Console()


def show_sources(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Health of every source: its latest run, items and errors."""
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    ledger = Ledger(settings.sqlite_path)
    latest: dict[str, dict[str, object]] = {}
    last_success: dict[str, str] = {}
    for row in ledger.source_runs():
        source_id = row["source_id"]
        if row["ok"] and source_id not in last_success:
            last_success[source_id] = row["finished_at"] or row["started_at"]
        if source_id not in latest:
            latest[source_id] = {
                "source_id": source_id,
                "last_pass": row["pass_id"],
                "ok": bool(row["ok"]),
                "pages": row["pages"],
                "items": row["items"],
                "new_items": row["new_items"],
                "errors": json.loads(row["errors_json"]),
            }
    ledger.close()
    rows = [entry | {"last_success": last_success.get(sid)} for sid, entry in sorted(latest.items())]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title="sources")
    for column in ("source", "ok", "last success", "pages", "items", "new", "errors"):
        table.add_column(column)
    for entry in rows:
        errors = entry["errors"]
        assert isinstance(errors, list)
        table.add_row(
            escape(str(entry["source_id"])), "yes" if entry["ok"] else "[red]NO[/red]",
            str(entry["last_success"] or "never"), str(entry["pages"]), str(entry["items"]),
            str(entry["new_items"]), str(len(errors)),
        )
    console.print(table)
