"""The post store's side of schemes (SQLite): which posts each scheme found, and reading posts back.

`post_scheme_matches` lives in the posts' SQLite file next to `posts`; the store owns its definition
(`patrol.store.sqlite.SCHEME_MATCHES_SCHEMA`) and writes it (`PostStore.record_scheme_matches`, which
the live stage calls, so Elasticsearch gets the matches too). "Posts of scheme X" is the store's own
search with `SearchFilters(schemes=[X])`, on either store. The workflow database keeps the detailed
`scheme_matches` rows (version, terms, near-duplicate group) for alerts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from patrol.schema import AnalysedPost, Analysis, Post
from patrol.store.base import PostStore, SearchFilters, SearchPage
from patrol.store.sqlite import SCHEME_MATCHES_SCHEMA, SqlitePostStore, where_clauses


def _utc(moment: datetime) -> str:
    # The store writes UTC ISO text; comparing text only orders times when the zones agree.
    return moment.astimezone(UTC).isoformat()


class SchemePostIndex:
    """Scheme matches in the posts' SQLite file; opens its own connection (WAL allows several)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(SCHEME_MATCHES_SCHEMA)

    def __enter__(self) -> SchemePostIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _has_posts(self) -> bool:
        row = self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'posts'").fetchone()
        return row is not None

    # -- writes ---------------------------------------------------------------------------------

    def remove_scheme(self, scheme_id: str) -> int:
        with self._lock:
            cursor = self._conn.execute("DELETE FROM post_scheme_matches WHERE scheme_id = ?", (scheme_id,))
            return cursor.rowcount

    # -- reads ----------------------------------------------------------------------------------

    def schemes_of_post(self, post_id: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT scheme_id FROM post_scheme_matches WHERE post_id = ? ORDER BY scheme_id", (post_id,)
        )
        return [row[0] for row in rows]

    def count(self, scheme_id: str, filters: SearchFilters | None = None) -> int:
        if not self._has_posts():
            return 0
        scoped = (filters or SearchFilters()).model_copy(update={"schemes": [scheme_id]})
        clauses, params = where_clauses(scoped)
        where = "".join(f" AND {c}" for c in clauses)
        row = self._conn.execute(f"SELECT count(*) FROM posts p WHERE 1 = 1{where}", params).fetchone()
        return int(row[0])

    def place_counts(self, scheme_id: str, since: datetime, until: datetime) -> Counter[str]:
        """How many of the scheme's posts published in [since, until) name each gazetteer place."""
        counts: Counter[str] = Counter()
        if not self._has_posts():
            return counts
        rows = self._conn.execute(
            "SELECT json_extract(p.analysis_json, '$.places') FROM post_scheme_matches m JOIN posts p"
            " ON p.id = m.post_id WHERE m.scheme_id = ? AND p.published_at >= ? AND p.published_at < ?",
            (scheme_id, _utc(since), _utc(until)),
        )
        for (places,) in rows:
            # A post naming a place twice counts once for it.
            counts.update({tag["name"] for tag in json.loads(places or "[]")})
        return counts

    def post_headlines(self, post_ids: list[str]) -> dict[str, tuple[str, str | None, str]]:
        """url, title and the first 80 characters of text of stored posts, for lists of examples."""
        if not post_ids or not self._has_posts():
            return {}
        marks = ", ".join("?" for _ in post_ids)
        rows = self._conn.execute(f"SELECT id, url, title, text FROM posts WHERE id IN ({marks})", post_ids)
        return {row["id"]: (row["url"], row["title"], " ".join(row["text"].split())[:80]) for row in rows}

    def iter_posts(self, since: datetime, until: datetime | None = None, batch: int = 500) -> Iterator[AnalysedPost]:
        """Stored posts published in [since, until), oldest first, for backtests and backfills."""
        if not self._has_posts():
            return
        last = ("", "")
        upper = _utc(until) if until is not None else "9999"
        while True:
            rows = self._conn.execute(
                "SELECT id, published_at, post_json, analysis_json FROM posts"
                " WHERE published_at >= ? AND published_at < ? AND (published_at, id) > (?, ?)"
                " ORDER BY published_at, id LIMIT ?",
                (_utc(since), upper, last[0], last[1], batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield AnalysedPost(
                    post=Post.model_validate_json(row["post_json"]),
                    analysis=Analysis.model_validate_json(row["analysis_json"]),
                )
            last = (rows[-1]["published_at"], rows[-1]["id"])


def posts_matching_scheme(
    store: PostStore | Path,
    scheme_id: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """The posts a scheme found, newest first, with the store's filters: `store.search` filtered by the
    scheme. `store` is a post store (e.g. `runtime.store`, so Elasticsearch serves it where configured)
    or the path of a SQLite store file (e.g. `runtime.settings.sqlite_path`)."""
    scoped = (filters or SearchFilters()).model_copy(update={"schemes": [scheme_id]})
    if isinstance(store, Path):
        with closing(SqlitePostStore(store)) as opened:
            return opened.search("", scoped, limit=limit, offset=offset)
    return store.search("", scoped, limit=limit, offset=offset)
