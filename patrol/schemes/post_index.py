"""The post store's side of schemes (SQLite): which posts each scheme found, and reading posts back.

`post_scheme_matches` lives in the posts' SQLite file next to `posts`, so "posts of scheme X" is a
join that takes the store's usual filters (sources, categories, jurisdictions, time, risk). The
workflow database keeps the detailed `scheme_matches` rows (version, terms, near-duplicate group)
for alerts; this table is the search side and is rebuilt from every live run (insert-or-ignore).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from patrol.schema import AnalysedPost, Analysis, Post
from patrol.store.base import SearchFilters, SearchHit, SearchPage
from patrol.store.snippets import make_snippet

_SCHEMA = """
CREATE TABLE IF NOT EXISTS post_scheme_matches (
    scheme_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    matched_at TEXT NOT NULL,
    terms TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scheme_id, post_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS post_scheme_matches_post ON post_scheme_matches(post_id);
"""


def _utc(moment: datetime) -> str:
    # The store writes UTC ISO text; comparing text only orders times when the zones agree.
    return moment.astimezone(UTC).isoformat()


def _where(filters: SearchFilters | None) -> tuple[list[str], list[Any]]:
    # The same meaning as the store's own search filters (see patrol.store.base.SearchFilters).
    clauses: list[str] = []
    params: list[Any] = []
    if filters is None:
        return clauses, params
    if filters.sources:
        clauses.append(f"p.source_id IN ({', '.join('?' for _ in filters.sources)})")
        params.extend(filters.sources)
    if filters.jurisdictions:
        clauses.append(f"p.jurisdiction IN ({', '.join('?' for _ in filters.jurisdictions)})")
        params.extend(filters.jurisdictions)
    if filters.categories:
        clauses.append(
            "(" + " OR ".join("(' ' || p.flagged_categories || ' ') LIKE ?" for _ in filters.categories) + ")"
        )
        params.extend(f"% {c} %" for c in filters.categories)
    if filters.since is not None:
        clauses.append("p.published_at >= ?")
        params.append(_utc(filters.since))
    if filters.until is not None:
        clauses.append("p.published_at < ?")
        params.append(_utc(filters.until))
    if filters.min_risk is not None:
        clauses.append("p.max_risk >= ?")
        params.append(filters.min_risk)
    if filters.max_risk is not None:
        clauses.append("p.max_risk <= ?")
        params.append(filters.max_risk)
    return clauses, params


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
        self._conn.executescript(_SCHEMA)

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

    def record(self, matches: Iterable[tuple[str, str, str]], at: datetime) -> int:
        """Store (scheme id, post id, terms) triples, leaving existing pairs alone; returns the new count."""
        rows = [(scheme_id, post_id, _utc(at), terms) for scheme_id, post_id, terms in matches]
        if not rows:
            return 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                before = self._conn.total_changes
                self._conn.executemany(
                    "INSERT OR IGNORE INTO post_scheme_matches (scheme_id, post_id, matched_at, terms)"
                    " VALUES (?, ?, ?, ?)",
                    rows,
                )
                added = self._conn.total_changes - before
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return added

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
        clauses, params = _where(filters)
        where = "".join(f" AND {c}" for c in clauses)
        row = self._conn.execute(
            f"SELECT count(*) FROM post_scheme_matches m JOIN posts p ON p.id = m.post_id WHERE m.scheme_id = ?{where}",
            [scheme_id, *params],
        ).fetchone()
        return int(row[0])

    def posts_matching_scheme(
        self, scheme_id: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> SearchPage:
        """The posts a scheme found, newest first, with the store's filters and highlighted snippets."""
        if not self._has_posts():
            return SearchPage(total=0, hits=[])
        clauses, params = _where(filters)
        where = "".join(f" AND {c}" for c in clauses)
        base = f"FROM post_scheme_matches m JOIN posts p ON p.id = m.post_id WHERE m.scheme_id = ?{where}"
        total = self._conn.execute(f"SELECT count(*) {base}", [scheme_id, *params]).fetchone()[0]
        rows = self._conn.execute(
            f"SELECT p.*, m.terms AS scheme_terms {base} ORDER BY p.published_at DESC, p.id LIMIT ? OFFSET ?",
            [scheme_id, *params, limit, offset],
        ).fetchall()
        hits = [
            SearchHit(
                post_id=r["id"],
                source_id=r["source_id"],
                url=r["url"],
                author=r["author"],
                published_at=datetime.fromisoformat(r["published_at"]),
                title=r["title"],
                snippet_html=make_snippet(r["text"], [t for t in r["scheme_terms"].split(" ") if t]),
                score=0.0,
                max_risk=float(r["max_risk"]),
                top_category=r["top_category"],
                jurisdiction=r["jurisdiction"],
            )
            for r in rows
        ]
        return SearchPage(total=int(total), hits=hits)

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
    store_path: Path,
    scheme_id: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """Posts of one scheme in the SQLite store at `store_path` (e.g. `runtime.store.path`)."""
    with SchemePostIndex(store_path) as index:
        return index.posts_matching_scheme(scheme_id, filters, limit=limit, offset=offset)
