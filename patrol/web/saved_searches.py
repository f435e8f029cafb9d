"""Saved searches: a person's named search (words and filters), kept in the console's own SQLite file.

They are a convenience of one person's desk, not part of the audited workflow, so they live beside
the console (`<data_dir>/console.db`) and never in the workflow database.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from patrol.workflow.errors import InvalidInput, NotFound
from patrol.workflow.ids import new_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS saved_searches (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    query_string TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (username, name)
);
"""
MAX_PER_USER = 100
#: Only these parameters of the search page are kept (nothing else can ride along in a saved link).
SEARCH_PARAMS = ("q", "source", "category", "jurisdiction", "scheme", "since", "until", "min_risk")


@dataclass(frozen=True)
class SavedSearch:
    id: str
    name: str
    query_string: str
    created_at: datetime


def clean_query_string(pairs: list[tuple[str, str]]) -> str:
    kept = [(k, v) for k, v in pairs if k in SEARCH_PARAMS and v.strip()]
    return urlencode(kept)


class SavedSearchStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def list(self, username: str) -> list[SavedSearch]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, name, query_string, created_at FROM saved_searches"
                " WHERE username = ? ORDER BY name",
                (username,),
            ).fetchall()
        return [SavedSearch(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows]

    def save(self, username: str, name: str, query_string: str, *, now: datetime) -> SavedSearch:
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise InvalidInput("a saved search needs a name of 1 to 100 characters")
        cleaned = clean_query_string(parse_qsl(query_string, keep_blank_values=False))
        if not cleaned:
            raise InvalidInput("nothing to save: enter words or choose a filter first")
        with self._lock:
            count = self._conn.execute(
                "SELECT count(*) FROM saved_searches WHERE username = ?", (username,)
            ).fetchone()[0]
            existing = self._conn.execute(
                "SELECT id FROM saved_searches WHERE username = ? AND name = ?", (username, name)
            ).fetchone()
            if existing is None and count >= MAX_PER_USER:
                raise InvalidInput(f"you have {MAX_PER_USER} saved searches; delete one first")
            search_id = existing[0] if existing else new_id("ss")
            self._conn.execute(
                "INSERT INTO saved_searches (id, username, name, query_string, created_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(username, name) DO UPDATE SET query_string = excluded.query_string",
                (search_id, username, name, cleaned, now.astimezone(UTC).isoformat()),
            )
        return SavedSearch(search_id, name, cleaned, now)

    def delete(self, username: str, search_id: str) -> None:
        with self._lock:
            deleted = self._conn.execute(
                "DELETE FROM saved_searches WHERE id = ? AND username = ?", (search_id, username)
            ).rowcount
        if not deleted:
            raise NotFound(f"no saved search {search_id} of yours")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
