"""`patrol sources`: the health of every source, from its crawl passes.

Per source: its latest pass (pages, items, new items, errors by kind, parse-failure rate,
duration), when it last succeeded, and a DEGRADED mark when its parse-failure rate jumped (a site
redesign: pages arrive, nothing in them can be read). Reads `crawlers.health`, first recording any
crawl report under the data folder not recorded yet.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawlers.health import SourceHealth, latest_health, sync_reports
from crawlers.sources import SourceConfig, SourcesFileError, load_sources
from crawlers.timeparse import SITE_TZ
from patrol.config import load_settings

console = Console()


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M") if moment else None


def _status(config: SourceConfig | None, health: SourceHealth | None) -> str:
    if config is not None and not config.enabled:
        return "disabled"
    if health is None:
        return "never run"
    if health.latest.degraded:
        return "DEGRADED"
    return "ok" if health.latest.ok else "FAILED"


def source_rows(configured: list[SourceConfig], health: dict[str, SourceHealth]) -> list[dict[str, Any]]:
    """One JSON-ready row per source, configured or seen in the health records; troubled ones first."""
    by_id: dict[str, SourceConfig | None] = {source.id: source for source in configured}
    for source_id in health:
        by_id.setdefault(source_id, None)
    rows = []
    for source_id, config in by_id.items():
        record = health.get(source_id)
        latest = record.latest if record else None
        rows.append(
            {
                "source_id": source_id,
                "kind": config.kind if config else (latest.kind if latest else None),
                "configured": config is not None,
                "status": _status(config, record),
                "degraded": bool(latest and latest.degraded),
                "degraded_reason": latest.degraded_reason if latest else "",
                "last_pass": latest.pass_id if latest else None,
                "last_run": _local(latest.started_at) if latest else None,
                "last_success": _local(record.last_success) if record else None,
                "ok": latest.ok if latest else None,
                "pages": latest.pages if latest else 0,
                "items": latest.items if latest else 0,
                "new_items": latest.new_items if latest else 0,
                "errors_by_kind": latest.errors_by_kind if latest else {},
                "parse_failures": latest.parse_failures if latest else 0,
                "parse_failure_rate": latest.parse_failure_rate if latest else 0.0,
                "duration_s": latest.duration_s if latest else None,
                "passes": record.passes if record else 0,
            }
        )
    order = {"DEGRADED": 0, "FAILED": 1, "never run": 2, "ok": 3, "disabled": 4}
    return sorted(rows, key=lambda row: (order.get(str(row["status"]), 5), str(row["source_id"])))


def show_sources(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON rows")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data folder (default: the setting)")] = None,
    sources: Annotated[Path | None, typer.Option("--sources", help="sources file (default: the setting)")] = None,
) -> None:
    """Health of every source: latest pass, last success, pages, items, errors by kind, parse failures."""
    overrides: dict[str, Any] = {}
    if data_dir:
        overrides["data_dir"] = data_dir
    if sources:
        overrides["sources_file"] = sources
    settings = load_settings(**overrides)
    config_error = None
    try:
        configured = load_sources(settings.sources_file)
    except SourcesFileError as exc:
        configured, config_error = [], str(exc)
    sync_reports(settings.sqlite_path, settings.data_dir)
    rows = source_rows(configured, latest_health(settings.sqlite_path))
    if as_json:
        typer.echo(json.dumps({"sources": rows, "config_error": config_error}, ensure_ascii=False, indent=2))
        return
    if config_error:
        console.print(f"[red]sources file problem[/red]: {escape(config_error)}")
    table = Table(title="sources")
    for column in (
        "source",
        "kind",
        "status",
        "last run",
        "last success",
        "pages",
        "items",
        "new",
        "errors",
        "parse fail",
        "took",
    ):
        table.add_column(column)
    for row in rows:
        status = str(row["status"])
        shown = {"DEGRADED": "[bold red]DEGRADED[/bold red]", "FAILED": "[red]FAILED[/red]"}.get(status, status)
        errors = row["errors_by_kind"]
        assert isinstance(errors, dict)
        table.add_row(
            escape(str(row["source_id"])),
            str(row["kind"] or ""),
            shown,
            str(row["last_run"] or "never"),
            str(row["last_success"] or "never"),
            str(row["pages"]),
            str(row["items"]),
            str(row["new_items"]),
            escape(", ".join(f"{kind} ×{count}" for kind, count in sorted(errors.items())) or "none"),
            f"{float(row['parse_failure_rate']):.0%}",
            f"{row['duration_s']:.1f}s" if row["duration_s"] is not None else "",
        )
    console.print(table)
    for row in rows:
        if row["degraded"]:
            console.print(
                f"[bold red]{escape(str(row['source_id']))}[/bold red]: {escape(str(row['degraded_reason']))}"
            )
