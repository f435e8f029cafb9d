"""Which landing batches have passed which stage, and what each source's crawl did.

A batch is done only after its last stage (flag) commits; a crash anywhere before that leaves it
pending, and the next pass resumes it at the first stage not recorded here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from patrol.schema import CrawlReport, utcnow

STAGES = ("analysed", "indexed", "flagged")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    landing_path TEXT NOT NULL,
    posts INTEGER NOT NULL DEFAULT 0,
    rejected_rows INTEGER NOT NULL DEFAULT 0,
    analysed_at TEXT,
    indexed_at TEXT,
    flagged_at TEXT
);
CREATE TABLE IF NOT EXISTS source_runs (
    pass_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ok INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    items INTEGER NOT NULL,
    new_items INTEGER NOT NULL,
    errors_json TEXT NOT NULL,
    PRIMARY KEY (pass_id, source_id)
);
"""


class BatchRecord(BaseModel):
    batch_id: str
    source_id: str
    landing_path: str
    posts: int
    rejected_rows: int
    analysed_at: datetime | None
    indexed_at: datetime | None
    flagged_at: datetime | None

    @property
    def done(self) -> bool:
        return self.flagged_at is not None


def batch_id_of(landing_path: Path) -> str:
    return f"{landing_path.parent.name}/{landing_path.name.removesuffix('.jsonl')}"


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)

    def register(self, landing_path: Path) -> BatchRecord:
        batch_id = batch_id_of(landing_path)
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO batches(batch_id, source_id, landing_path) VALUES (?, ?, ?)",
                (batch_id, landing_path.parent.name, str(landing_path)),
            )
        record = self.get(batch_id)
        assert record is not None
        return record

    def get(self, batch_id: str) -> BatchRecord | None:
        row = self._conn.execute("SELECT * FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return BatchRecord.model_validate(dict(row)) if row else None

    def mark(self, batch_id: str, stage: str, *, posts: int | None = None, rejected: int | None = None) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {STAGES}")
        with self._lock:
            self._conn.execute(
                f"UPDATE batches SET {stage}_at = ? WHERE batch_id = ?", (utcnow().isoformat(), batch_id)
            )
            if posts is not None:
                self._conn.execute("UPDATE batches SET posts = ? WHERE batch_id = ?", (posts, batch_id))
            if rejected is not None:
                self._conn.execute("UPDATE batches SET rejected_rows = ? WHERE batch_id = ?", (rejected, batch_id))

    def pending(self) -> list[BatchRecord]:
        rows = self._conn.execute("SELECT * FROM batches WHERE flagged_at IS NULL ORDER BY batch_id").fetchall()
        return [BatchRecord.model_validate(dict(r)) for r in rows]

    def record_crawl(self, report: CrawlReport) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO source_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    report.pass_id,
                    report.source_id,
                    report.started_at.isoformat(),
                    report.finished_at.isoformat() if report.finished_at else None,
                    int(report.ok),
                    report.requests,
                    report.pages,
                    report.items,
                    report.new_items,
                    json.dumps([e.model_dump() for e in report.errors], ensure_ascii=False),
                ),
            )

    def source_runs(self, limit: int = 200) -> list[sqlite3.Row]:
        return self._conn.execute("SELECT * FROM source_runs ORDER BY started_at DESC LIMIT ?", (limit,)).fetchall()

    def close(self) -> None:
        self._conn.close()
