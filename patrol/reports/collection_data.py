"""What each crawl of each source did (the ledger's `source_runs`), as a pandas frame."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

RUN_COLUMNS = (
    "source_id",
    "pass_id",
    "started_at",
    "ok",
    "items",
    "new_items",
    "errors",
    "error_kinds",
    "error_urls",
)


def empty_runs() -> pd.DataFrame:
    frame = pd.DataFrame([], columns=list(RUN_COLUMNS))
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame


def load_crawl_runs(db_path: Path, since: datetime, until: datetime) -> pd.DataFrame:
    """Runs started in [since, until); none when the database or its ledger does not exist yet."""
    if not db_path.exists():
        return empty_runs()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'source_runs'")
        if found.fetchone() is None:
            return empty_runs()
        # Start times carry the crawler's offset, so text bounds are only a coarse cut (a day of margin
        # covers every offset); the exact window is applied below on parsed times.
        margin = timedelta(days=1)
        rows = conn.execute(
            "SELECT source_id, pass_id, started_at, ok, items, new_items, errors_json FROM source_runs"
            " WHERE started_at >= ? AND started_at < ?",
            ((since - margin).astimezone(UTC).isoformat(), (until + margin).astimezone(UTC).isoformat()),
        ).fetchall()
    finally:
        conn.close()
    records = []
    for source_id, pass_id, started_at, ok, items, new_items, errors_json in rows:
        started = datetime.fromisoformat(started_at)
        started = started.replace(tzinfo=UTC) if started.tzinfo is None else started
        if not since <= started < until:
            continue
        errors = json.loads(errors_json or "[]")
        records.append(
            {
                "source_id": source_id,
                "pass_id": pass_id,
                "started_at": started.astimezone(UTC),
                "ok": bool(ok),
                "items": int(items),
                "new_items": int(new_items),
                "errors": len(errors),
                "error_kinds": sorted({str(e.get("kind", "?")) for e in errors}),
                "error_urls": [str(e.get("url", "")) for e in errors if e.get("url")][:5],
            }
        )
    if not records:
        return empty_runs()
    frame = pd.DataFrame(records, columns=list(RUN_COLUMNS))
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame
