"""Source health: what every pass did per source, and which sources look broken.

One row per (pass, source) in the SQLite table `source_health`, in the same database file as the
ledger (WAL mode, so the pipeline and `patrol sources` can use it at once): pages, items, new
items, errors by kind, pages that failed to parse and their rate, duration, and whether the pass
succeeded. Rows come from the crawl's report and its `.health.json` side file
(`crawlers.report`): `record_pass` after each crawl, or `sync_reports` over the reports folder,
which picks up any pass not recorded yet (so health is complete even for passes run by hand).

A source is **degraded** when its parse-failure rate jumps: at least `DEGRADED_MIN_RATE` of its
pages failed to parse and that is `DEGRADED_JUMP` above its usual rate (the median of its previous
`BASELINE_PASSES` passes; 0 for a new source). That is what a site redesign looks like: pages
still arrive, the parsers no longer find anything in them.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crawlers.report import PARSE_FAILURE_KINDS, health_path
from patrol.schema import CrawlReport

DEGRADED_MIN_RATE = 0.2
DEGRADED_JUMP = 0.2
BASELINE_PASSES = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_health (
    pass_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_s REAL NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    items INTEGER NOT NULL,
    new_items INTEGER NOT NULL,
    parse_failures INTEGER NOT NULL,
    parse_failure_rate REAL NOT NULL,
    errors_by_kind TEXT NOT NULL,
    degraded INTEGER NOT NULL,
    degraded_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (pass_id, source_id)
);
CREATE INDEX IF NOT EXISTS source_health_by_source ON source_health (source_id, started_at);
"""


@dataclass(frozen=True)
class PassHealth:
    pass_id: str
    source_id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float
    ok: bool
    requests: int
    pages: int
    items: int
    new_items: int
    parse_failures: int
    parse_failure_rate: float
    errors_by_kind: dict[str, int]
    degraded: bool
    degraded_reason: str


@dataclass(frozen=True)
class SourceHealth:
    """A source's latest pass, with when it last succeeded."""

    latest: PassHealth
    last_success: datetime | None
    passes: int


def connect(db_path: Path) -> sqlite3.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=30000")
    connection.executescript(_SCHEMA)
    return connection


def _side_file(data_dir: Path | None, report: CrawlReport) -> dict[str, Any]:
    if data_dir is None:
        return {}
    try:
        loaded = json.loads(health_path(data_dir, report.pass_id, report.source_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _errors_by_kind(report: CrawlReport, side: dict[str, Any]) -> dict[str, int]:
    counted = side.get("errors_by_kind")
    if isinstance(counted, dict):
        return {str(kind): int(count) for kind, count in counted.items()}
    counts: dict[str, int] = {}
    for error in report.errors:
        counts[error.kind] = counts.get(error.kind, 0) + 1
    return counts


def judge(rate: float, history: list[float]) -> tuple[bool, str]:
    """Degraded or not, and why, from this pass's parse-failure rate and earlier passes' rates."""
    baseline = statistics.median(history) if history else 0.0
    if rate >= DEGRADED_MIN_RATE and rate - baseline >= DEGRADED_JUMP:
        return True, (
            f"parse failures jumped to {rate:.0%} of pages (usually {baseline:.0%}): "
            "the site may have changed its layout; check a page with `patrol extract` and update the parser or profile"
        )
    return False, ""


def record_pass(db_path: Path, report: CrawlReport, *, data_dir: Path | None = None) -> PassHealth:
    """Record one crawl's health (an upsert: recording a pass twice changes nothing)."""
    side = _side_file(data_dir, report)
    errors = _errors_by_kind(report, side)
    failures = int(side.get("parse_failures", sum(errors.get(kind, 0) for kind in PARSE_FAILURE_KINDS)))
    attempted = report.pages + failures
    rate = failures / attempted if attempted else 0.0
    duration = float(side.get("duration_s") or 0.0)
    if not duration and report.finished_at is not None:
        duration = (report.finished_at - report.started_at).total_seconds()
    connection = connect(db_path)
    try:
        history = [
            float(row["parse_failure_rate"])
            for row in connection.execute(
                "SELECT parse_failure_rate FROM source_health WHERE source_id = ? AND started_at < ? "
                "ORDER BY started_at DESC LIMIT ?",
                (report.source_id, report.started_at.isoformat(), BASELINE_PASSES),
            )
        ]
        degraded, reason = judge(rate, history)
        health = PassHealth(
            pass_id=report.pass_id,
            source_id=report.source_id,
            kind=str(side.get("kind", "")),
            started_at=report.started_at,
            finished_at=report.finished_at,
            duration_s=round(duration, 3),
            ok=report.ok,
            requests=report.requests,
            pages=report.pages,
            items=report.items,
            new_items=report.new_items,
            parse_failures=failures,
            parse_failure_rate=round(rate, 4),
            errors_by_kind=errors,
            degraded=degraded,
            degraded_reason=reason,
        )
        connection.execute(
            "INSERT OR REPLACE INTO source_health VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                health.pass_id,
                health.source_id,
                health.kind,
                health.started_at.isoformat(),
                health.finished_at.isoformat() if health.finished_at else None,
                health.duration_s,
                int(health.ok),
                health.requests,
                health.pages,
                health.items,
                health.new_items,
                health.parse_failures,
                health.parse_failure_rate,
                json.dumps(health.errors_by_kind, sort_keys=True),
                int(health.degraded),
                health.degraded_reason,
            ),
        )
    finally:
        connection.close()
    return health


def sync_reports(db_path: Path, data_dir: Path) -> int:
    """Record every crawl report under `<data_dir>/reports` not recorded yet; how many were added."""
    reports_dir = data_dir / "reports"
    if not reports_dir.is_dir():
        return 0
    connection = connect(db_path)
    try:
        known = {(row[0], row[1]) for row in connection.execute("SELECT pass_id, source_id FROM source_health")}
    finally:
        connection.close()
    pending = []
    for path in reports_dir.glob("*/*.json"):
        if path.name.endswith(".health.json") or (path.parent.name, path.stem) in known:
            continue
        try:
            report = CrawlReport.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError):
            continue  # a report being written, or not one of ours
        pending.append(report)
    for report in sorted(pending, key=lambda r: r.started_at):  # oldest first: each is judged on its past
        record_pass(db_path, report, data_dir=data_dir)
    return len(pending)


def _row_to_health(row: sqlite3.Row) -> PassHealth:
    return PassHealth(
        pass_id=row["pass_id"],
        source_id=row["source_id"],
        kind=row["kind"],
        started_at=datetime.fromisoformat(row["started_at"]),
        finished_at=datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else None,
        duration_s=float(row["duration_s"]),
        ok=bool(row["ok"]),
        requests=int(row["requests"]),
        pages=int(row["pages"]),
        items=int(row["items"]),
        new_items=int(row["new_items"]),
        parse_failures=int(row["parse_failures"]),
        parse_failure_rate=float(row["parse_failure_rate"]),
        errors_by_kind=json.loads(row["errors_by_kind"]),
        degraded=bool(row["degraded"]),
        degraded_reason=row["degraded_reason"],
    )


def latest_health(db_path: Path) -> dict[str, SourceHealth]:
    """Per source: its latest pass, its last successful pass's end, and how many passes are recorded."""
    connection = connect(db_path)
    try:
        rows = connection.execute(
            "SELECT h.* FROM source_health h JOIN ("
            " SELECT source_id, MAX(started_at) AS started_at FROM source_health GROUP BY source_id"
            ") latest ON latest.source_id = h.source_id AND latest.started_at = h.started_at"
        ).fetchall()
        successes = dict(
            connection.execute(
                "SELECT source_id, MAX(COALESCE(finished_at, started_at)) FROM source_health WHERE ok = 1 "
                "GROUP BY source_id"
            ).fetchall()
        )
        counts = dict(connection.execute("SELECT source_id, COUNT(*) FROM source_health GROUP BY source_id").fetchall())
    finally:
        connection.close()
    result = {}
    for row in rows:
        health = _row_to_health(row)
        success = successes.get(health.source_id)
        result[health.source_id] = SourceHealth(
            latest=health,
            last_success=datetime.fromisoformat(success) if success else None,
            passes=int(counts.get(health.source_id, 0)),
        )
    return result
