"""`patrol flags`: the review items the flag stage opened, with their evidence."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from patrol.config import load_settings
from patrol.schema import CATEGORY_LABELS_ZH, utcnow
from patrol.workflow.audit import record_audit
from patrol.workflow.db import WorkflowDb
from patrol.workflow.feedback import precision_stats
from patrol.workflow.models import ReviewItem
from patrol.workflow.policy import WorkflowFiles, load_workflow_policy

app = typer.Typer(help="Review items opened by the flag stage.", invoke_without_command=True)
console = Console()


def list_review_items(
    db: WorkflowDb, category: str | None = None, limit: int = 50, *, viewer: str | None = None
) -> list[dict[str, Any]]:
    """Review items, life-safety first, then by score; each with its copies and their evidence.

    With `viewer`, showing the details is recorded in the audit log for each item, as in the API.
    """
    query = select(ReviewItem).options(selectinload(ReviewItem.posts))
    if category:
        query = query.where(ReviewItem.category == category)
    query = query.order_by(ReviewItem.life_safety.desc(), ReviewItem.max_score.desc(), ReviewItem.created_at)
    with db.session() as session:
        items = session.scalars(query.limit(limit)).all()
        if viewer is not None:
            now = utcnow()
            for item in items:
                record_audit(
                    session,
                    at=now,
                    actor=viewer,
                    action="item.viewed",
                    entity_type="review_item",
                    entity_id=item.id,
                    after={"via": "patrol flags"},
                )
        return [
            {
                "id": item.id,
                "category": item.category,
                "status": item.status,
                "life_safety": item.life_safety,
                "score": round(item.max_score, 3),
                "jurisdiction": item.jurisdiction,
                "created_at": item.created_at.isoformat(),
                "copies": [
                    {
                        "post_id": link.post_id,
                        "source_id": link.source_id,
                        "score": round(link.score, 3),
                        "scorer": link.scorer,
                        "evidence": json.loads(link.evidence_json),
                    }
                    for link in item.posts
                ],
            }
            for item in items
        ]


@app.callback()
def show_flags(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="only this category")] = None,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    db = WorkflowDb(settings.workflow_url)
    items = list_review_items(db, category, limit, viewer=f"cli:{getpass.getuser()}")
    db.dispose()
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        console.print("no review items")
    for item in items:
        life = "[bold red]LIFE-SAFETY[/bold red] " if item["life_safety"] else ""
        console.print(
            f"{life}[bold]{item['id']}[/bold] {item['category']} ({CATEGORY_LABELS_ZH.get(item['category'], '')})"
            f" score={item['score']} status={item['status']} unit={item['jurisdiction'] or '-'}"
            f" copies={len(item['copies'])}"
        )
        for copy in item["copies"]:
            why = "; ".join(f"{e['signal']}:{e['rule']} «{e['term']}»" for e in copy["evidence"]) or "-"
            console.print(f"    {escape(copy['post_id'])} [{escape(copy['scorer'])}] {escape(why)}")


@app.command("stats")
def flag_stats(
    since: Annotated[datetime | None, typer.Option(help="only items flagged at or after (ISO 8601)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Precision of the flags per category, rule and source, from dismissals and verification outcomes."""
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    db = WorkflowDb(settings.workflow_url)
    reasons = load_workflow_policy(WorkflowFiles.from_settings(settings)).dismiss_reasons
    try:
        with db.read_session() as session:
            report = precision_stats(session, reasons, since=since.astimezone(UTC) if since else None)
    finally:
        db.dispose()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    console.print(
        f"{report.total.items} items: {report.total.true_positive} confirmed, {report.total.false_positive} false,"
        f" {report.total.pending} pending, {report.total.unknown} without a verdict;"
        f" precision {_percent(report.total.precision)}"
    )
    for title, rows in (("category", report.by_category), ("rule", report.by_rule), ("source", report.by_source)):
        table = Table(title=f"precision by {title}")
        for column in (title, "items", "true", "false", "pending", "no verdict", "precision"):
            table.add_column(column, justify="left" if column == title else "right")
        for row in rows:
            label = (
                f"{row.key} ({CATEGORY_LABELS_ZH[row.key]})"
                if title == "category" and row.key in CATEGORY_LABELS_ZH
                else row.key
            )
            table.add_row(
                escape(label),
                str(row.items),
                str(row.true_positive),
                str(row.false_positive),
                str(row.pending),
                str(row.unknown),
                _percent(row.precision),
            )
        console.print(table)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
