"""Read-only views of the posts table that the store's contract has no call for.

The queue shows a preview of each item's first post, the item page the other floors of its thread,
and the threshold backtest reads the last days' stored scores. These are narrow, indexed reads of
the SQLite copy of the posts, which every deployment keeps (with Elasticsearch it is the primary
copy the mirror is rebuilt from). One connection per thread: SQLite readers run side by side in WAL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_PREVIEW_CHARS = 160


@dataclass(frozen=True)
class PostPreview:
    id: str
    source_id: str
    url: str
    title: str | None
    text: str
    published_at: datetime
    thread_id: str | None


@dataclass(frozen=True)
class ScoredPost:
    id: str
    source_id: str
    url: str
    title: str | None
    text: str
    published_at: datetime
    risk_scores: dict[str, float]


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


THREAD_INDEX = "CREATE INDEX IF NOT EXISTS posts_thread ON posts(source_id, thread_id, published_at)"


def ensure_thread_index(path: Path) -> None:
    """The index the item page's thread context needs (idempotent; a no-op once the store has it).

    Without it, showing the floors around a flagged post scans every post of its source.
    """
    conn = sqlite3.connect(path, timeout=30)
    try:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        if ("posts",) in tables:
            conn.execute(THREAD_INDEX)
            conn.commit()
    finally:
        conn.close()


class PostReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _has_posts(self) -> bool:
        try:
            self._conn().execute("SELECT 1 FROM posts LIMIT 1")
        except sqlite3.Error:
            return False
        return True

    def previews(self, post_ids: Sequence[str]) -> dict[str, PostPreview]:
        """The first characters of each post, by id (missing posts are left out)."""
        wanted = list(dict.fromkeys(post_ids))
        if not wanted or not self._has_posts():
            return {}
        marks = ", ".join("?" for _ in wanted)
        rows = (
            self._conn()
            .execute(
                f"SELECT id, source_id, url, title, substr(text, 1, {_PREVIEW_CHARS}) AS text,"
                f" published_at, thread_id FROM posts WHERE id IN ({marks})",
                wanted,
            )
            .fetchall()
        )
        return {r["id"]: self._preview(r) for r in rows}

    @staticmethod
    def _preview(row: sqlite3.Row) -> PostPreview:
        return PostPreview(
            id=row["id"],
            source_id=row["source_id"],
            url=row["url"],
            title=row["title"],
            text=row["text"],
            published_at=datetime.fromisoformat(row["published_at"]),
            thread_id=row["thread_id"],
        )

    def thread(self, source_id: str, thread_id: str, *, limit: int = 30) -> list[PostPreview]:
        """Posts of one thread, oldest first (the flagged floor among them)."""
        if not self._has_posts():
            return []
        rows = (
            self._conn()
            .execute(
                "SELECT id, source_id, url, title, substr(text, 1, 600) AS text, published_at, thread_id"
                " FROM posts WHERE source_id = ? AND thread_id = ? ORDER BY published_at, id LIMIT ?",
                (source_id, thread_id, limit),
            )
            .fetchall()
        )
        return [self._preview(r) for r in rows]

    def scored_since(self, since: datetime, until: datetime, *, limit: int) -> Iterator[ScoredPost]:
        """Posts published in [since, until) with their stored risk scores, newest first."""
        if not self._has_posts():
            return
        rows = self._conn().execute(
            "SELECT id, source_id, url, title, text, published_at,"
            " json_extract(analysis_json, '$.risk_scores') AS scores"
            " FROM posts WHERE published_at >= ? AND published_at < ? ORDER BY published_at DESC LIMIT ?",
            (_utc_text(since), _utc_text(until), limit),
        )
        for r in rows:
            yield ScoredPost(
                id=r["id"],
                source_id=r["source_id"],
                url=r["url"],
                title=r["title"],
                text=r["text"],
                published_at=datetime.fromisoformat(r["published_at"]),
                risk_scores={k: float(v) for k, v in json.loads(r["scores"] or "{}").items()},
            )

    def post_counts_by_source(self) -> dict[str, int]:
        if not self._has_posts():
            return {}
        rows = self._conn().execute("SELECT source_id, count(*) FROM posts GROUP BY source_id").fetchall()
        return {source: count for source, count in rows}

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
