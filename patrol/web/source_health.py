"""The health of every source: its latest crawl, last success, items, errors and a degraded flag.

A source is degraded when it never ran, its latest crawl failed or reported errors, or its last
success is older than three of its intervals: then a quiet queue may only mean a broken crawler.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crawlers.sources import SourceConfig, SourcesFileError, load_sources
from patrol.config import Settings
from patrol.ledger import Ledger

STALE_INTERVALS = 3


@dataclass
class SourceHealth:
    source_id: str
    kind: str | None = None
    enabled: bool | None = None
    interval_s: int | None = None
    start_urls: list[str] = field(default_factory=list)
    last_run: datetime | None = None
    last_pass: str | None = None
    last_ok: bool | None = None
    last_success: datetime | None = None
    pages: int = 0
    items: int = 0
    new_items: int = 0
    errors: int = 0
    error_kinds: list[str] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)
    runs_24h: int = 0
    failed_24h: int = 0
    posts_stored: int = 0
    degraded: bool = False
    why: str = ""


@dataclass
class SourcesReport:
    sources: list[SourceHealth]
    config_error: str | None = None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _judge(health: SourceHealth, now: datetime) -> None:
    if health.enabled is False:
        health.why = "disabled in the sources file"
        return
    if health.last_run is None:
        health.degraded, health.why = True, "no crawl recorded yet"
    elif not health.last_ok:
        health.degraded, health.why = True, "the latest crawl failed"
    elif health.errors:
        health.degraded, health.why = True, f"the latest crawl reported {health.errors} errors"
    elif (
        health.interval_s
        and health.last_success is not None
        and (now - health.last_success > timedelta(seconds=STALE_INTERVALS * health.interval_s))
    ):
        health.degraded = True
        health.why = f"no successful crawl for more than {STALE_INTERVALS} intervals"


def source_health(settings: Settings, *, now: datetime, posts_by_source: dict[str, int]) -> SourcesReport:
    config_error = None
    configured: list[SourceConfig] = []
    try:
        configured = load_sources(settings.sources_file)
    except SourcesFileError as exc:
        config_error = str(exc)
    by_id: dict[str, SourceHealth] = {
        s.id: SourceHealth(
            source_id=s.id,
            kind=s.kind,
            enabled=s.enabled,
            interval_s=s.interval_s,
            start_urls=list(s.start_urls),
        )
        for s in configured
    }
    ledger = Ledger(settings.sqlite_path)
    try:
        runs = ledger.source_runs(limit=5000)
    finally:
        ledger.close()
    day_ago = now - timedelta(days=1)
    for row in runs:  # newest first
        health = by_id.setdefault(row["source_id"], SourceHealth(source_id=row["source_id"]))
        started = _parse(row["started_at"])
        finished = _parse(row["finished_at"]) or started
        if started is not None and started >= day_ago:
            health.runs_24h += 1
            health.failed_24h += 0 if row["ok"] else 1
        if row["ok"] and health.last_success is None:
            health.last_success = finished
        if health.last_run is None:
            errors = json.loads(row["errors_json"] or "[]")
            health.last_run, health.last_pass, health.last_ok = started, row["pass_id"], bool(row["ok"])
            health.pages, health.items, health.new_items = row["pages"], row["items"], row["new_items"]
            health.errors = len(errors)
            health.error_kinds = [
                f"{k} ×{n}" for k, n in Counter(str(e.get("kind", "?")) for e in errors).items()
            ]
            health.error_examples = [
                f"{e.get('kind', '?')}: {e.get('message', '')}"[:300] for e in errors[:3]
            ]
    for source_id, health in by_id.items():
        health.posts_stored = posts_by_source.get(source_id, 0)
        _judge(health, now)
    ordered = sorted(by_id.values(), key=lambda h: (not h.degraded, h.source_id))
    return SourcesReport(sources=ordered, config_error=config_error)
