"""The embedded default store: one SQLite file (WAL) with posts, their analysis and an FTS5 index.

The FTS5 table indexes the NLP stage's segmented tokens joined by spaces, so SQLite and
Elasticsearch (whitespace analyzer over the same tokens) tokenise identically and no Chinese
tokenizer extension is needed. Every write is an upsert keyed by the stable post id.

`post_scheme_matches` holds one row per (scheme, post) a monitoring scheme matched; the store owns
its definition (`SCHEME_MATCHES_SCHEMA`), so the scheme filter works on every file the store opened.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from patrol.schema import AnalysedPost, Analysis, Post, utcnow
from patrol.store.base import (
    REPORT_TIMEZONE,
    HistogramInterval,
    QueryTokenizer,
    SchemeIdLookup,
    SchemeMatchResult,
    SearchFilters,
    SearchHit,
    SearchPage,
    SentimentSummary,
    TermBucket,
    TermsField,
    TimeBucket,
    UpsertResult,
)
from patrol.store.snippets import make_snippet
from patrol.thresholds import Thresholds

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    thread_id TEXT,
    published_at TEXT NOT NULL,
    author TEXT,
    title TEXT,
    text TEXT NOT NULL,
    jurisdiction TEXT,
    max_risk REAL NOT NULL DEFAULT 0,
    top_category TEXT,
    flagged_categories TEXT NOT NULL DEFAULT '',
    sentiment REAL NOT NULL DEFAULT 0,
    simhash INTEGER NOT NULL DEFAULT 0,
    scorer TEXT,
    content_hash TEXT NOT NULL,
    post_json TEXT NOT NULL,
    analysis_json TEXT NOT NULL,
    indexed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_source_time ON posts(source_id, published_at);
CREATE INDEX IF NOT EXISTS posts_time ON posts(published_at);
CREATE INDEX IF NOT EXISTS posts_risk ON posts(max_risk);
CREATE INDEX IF NOT EXISTS posts_jurisdiction ON posts(jurisdiction);
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(body, tokenize = "unicode61 remove_diacritics 0");
"""

#: Which monitoring scheme matched which post: the only definition of the table (patrol.schemes.post_index
#: reuses it). Files written before the store owned it may also have a `terms` column; nothing reads it.
SCHEME_MATCHES_SCHEMA = """
CREATE TABLE IF NOT EXISTS post_scheme_matches (
    scheme_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    matched_at TEXT NOT NULL,
    PRIMARY KEY (scheme_id, post_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS post_scheme_matches_post ON post_scheme_matches(post_id);
"""

#: Host parameters per statement, well under every SQLite build's limit.
_IN_CHUNK = 500


def _iso(value: datetime) -> str:
    # Stored times are UTC ISO strings and compared as text, so a bound in another zone is converted first.
    return value.astimezone(UTC).isoformat()


def _content_hash(item: AnalysedPost) -> str:
    payload = item.post.model_dump_json(exclude={"fetched_at"}) + item.analysis.model_dump_json()
    return hashlib.sha1(payload.encode()).hexdigest()


def where_clauses(filters: SearchFilters | None) -> tuple[list[str], list[Any]]:
    """SQL conditions on the posts table aliased `p`, and their parameters, for `filters`."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters is None:
        return clauses, params
    if filters.sources:
        clauses.append(f"p.source_id IN ({_marks(filters.sources)})")
        params.extend(filters.sources)
    if filters.jurisdictions:
        clauses.append(f"p.jurisdiction IN ({_marks(filters.jurisdictions)})")
        params.extend(filters.jurisdictions)
    if filters.categories:
        ors = " OR ".join("(' ' || p.flagged_categories || ' ') LIKE ?" for _ in filters.categories)
        clauses.append(f"({ors})")
        params.extend(f"% {c} %" for c in filters.categories)
    if filters.schemes:
        clauses.append(
            "EXISTS (SELECT 1 FROM post_scheme_matches m"
            f" WHERE m.post_id = p.id AND m.scheme_id IN ({_marks(filters.schemes)}))"
        )
        params.extend(filters.schemes)
    if filters.since is not None:
        clauses.append("p.published_at >= ?")
        params.append(_iso(filters.since))
    if filters.until is not None:
        clauses.append("p.published_at < ?")
        params.append(_iso(filters.until))
    if filters.min_risk is not None:
        clauses.append("p.max_risk >= ?")
        params.append(filters.min_risk)
    if filters.max_risk is not None:
        clauses.append("p.max_risk <= ?")
        params.append(filters.max_risk)
    return clauses, params


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _chunked(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _scheme_ids(conn: sqlite3.Connection, post_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for chunk in _chunked(list(dict.fromkeys(post_ids))):
        rows = conn.execute(
            f"SELECT post_id, scheme_id FROM post_scheme_matches WHERE post_id IN ({_marks(chunk)})"
            " ORDER BY post_id, scheme_id",
            list(chunk),
        )
        for post_id, scheme_id in rows:
            found.setdefault(post_id, []).append(scheme_id)
    return found


def scheme_ids_reader(path: Path) -> SchemeIdLookup:
    """`SqlitePostStore.scheme_ids_of` for the store file at `path`, opening it read-only for each call.

    For a process that writes Elasticsearch without holding the SQLite store open (`patrol reindex`):
    every document it writes carries the schemes SQLite recorded for the post.
    """

    def lookup(post_ids: Sequence[str]) -> dict[str, list[str]]:
        if not post_ids or not path.exists():
            return {}
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            return _scheme_ids(conn, post_ids)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # a file no scheme-aware store has opened yet
                return {}
            raise
        finally:
            conn.close()

    return lookup


def _fts_query(tokens: list[str]) -> str:
    # Every token quoted: user input never becomes FTS syntax (no column filters, no operators).
    return " ".join('"' + t.replace('"', '""') + '"' for t in tokens if t.strip())


class SqlitePostStore:
    """Posts, analyses and the full-text index in one SQLite file."""

    def __init__(
        self, path: Path, tokenize: QueryTokenizer | None = None, thresholds: Thresholds | None = None
    ) -> None:
        self.path = path
        self.thresholds = thresholds or Thresholds.model_validate({})
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tokenize = tokenize or (lambda text: text.split())
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA + SCHEME_MATCHES_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- writes -------------------------------------------------------------------------------

    def upsert(self, posts: Sequence[AnalysedPost]) -> UpsertResult:
        result = UpsertResult()
        with self._transaction() as conn:
            for item in posts:
                try:
                    self._upsert_one(conn, item, result)
                except (sqlite3.Error, ValueError) as exc:  # a bad row fails that row, not the batch
                    result.failed += 1
                    result.failures.append(f"{item.post.id}: {exc}")
        return result

    def _upsert_one(self, conn: sqlite3.Connection, item: AnalysedPost, result: UpsertResult) -> None:
        post, analysis = item.post, item.analysis
        digest = _content_hash(item)
        row = conn.execute("SELECT rowid, content_hash FROM posts WHERE id = ?", (post.id,)).fetchone()
        if row is not None and row["content_hash"] == digest:
            result.unchanged += 1
            return
        flagged = self.thresholds.flagged(analysis.risk_scores)
        top = max(analysis.risk_scores.items(), key=lambda kv: kv[1], default=(None, 0.0))
        values: dict[str, Any] = {
            "id": post.id,
            "source_id": post.source_id,
            "kind": post.kind,
            "url": post.url,
            "thread_id": post.thread_id,
            "published_at": _iso(post.published_at),
            "author": post.author,
            "title": post.title or post.thread_title,
            "text": post.text,
            "jurisdiction": analysis.jurisdiction,
            "max_risk": float(top[1]),
            "top_category": top[0] if top[1] > 0 else None,
            "flagged_categories": " ".join(sorted(flagged)),
            "sentiment": analysis.sentiment,
            "simhash": analysis.simhash,
            "scorer": analysis.scorer,
            "content_hash": digest,
            "post_json": post.model_dump_json(),
            "analysis_json": analysis.model_dump_json(),
            "indexed_at": _iso(post.fetched_at),
        }
        columns = ", ".join(values)
        placeholders = ", ".join(f":{k}" for k in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k != "id")
        conn.execute(
            f"INSERT INTO posts ({columns}) VALUES ({placeholders}) ON CONFLICT(id) DO UPDATE SET {updates}",
            values,
        )
        rowid = conn.execute("SELECT rowid FROM posts WHERE id = ?", (post.id,)).fetchone()[0]
        title = post.title or post.thread_title or ""
        title_tokens = " ".join(self._tokenize(title)) if post.floor in (None, 1) else ""
        body = " ".join(analysis.tokens)
        conn.execute("INSERT OR REPLACE INTO posts_fts(rowid, body) VALUES (?, ?)", (rowid, f"{title_tokens} {body}"))
        if row is None:
            result.inserted += 1
        else:
            result.updated += 1

    def delete_posts(self, post_ids: Sequence[str]) -> int:
        removed = 0
        with self._transaction() as conn:
            for post_id in post_ids:
                row = conn.execute("SELECT rowid FROM posts WHERE id = ?", (post_id,)).fetchone()
                if row is None:
                    continue
                conn.execute("DELETE FROM posts_fts WHERE rowid = ?", (row[0],))
                conn.execute("DELETE FROM posts WHERE rowid = ?", (row[0],))
                conn.execute("DELETE FROM post_scheme_matches WHERE post_id = ?", (post_id,))
                removed += 1
        return removed

    def record_scheme_matches(self, matches: Sequence[tuple[str, str]]) -> SchemeMatchResult:
        result = SchemeMatchResult()
        pairs = list(dict.fromkeys(matches))
        if not pairs:
            return result
        at = _iso(utcnow())
        with self._transaction() as conn:
            held: set[str] = set()
            for chunk in _chunked(list({post_id for post_id, _ in pairs})):
                rows = conn.execute(f"SELECT id FROM posts WHERE id IN ({_marks(chunk)})", list(chunk))
                held.update(row[0] for row in rows)
            # Only posts the store holds, as in Elasticsearch, where an update needs the document.
            recordable = [(scheme_id, post_id, at) for post_id, scheme_id in pairs if post_id in held]
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO post_scheme_matches (scheme_id, post_id, matched_at) VALUES (?, ?, ?)",
                recordable,
            )
            result.added = conn.total_changes - before
        result.unchanged = len(recordable) - result.added
        result.missing = len(pairs) - len(recordable)
        return result

    # -- reads --------------------------------------------------------------------------------

    def get(self, post_id: str) -> AnalysedPost | None:
        row = self._conn.execute("SELECT post_json, analysis_json FROM posts WHERE id = ?", (post_id,)).fetchone()
        if row is None:
            return None
        return AnalysedPost(
            post=Post.model_validate_json(row["post_json"]),
            analysis=Analysis.model_validate_json(row["analysis_json"]),
        )

    def get_many(self, post_ids: Sequence[str]) -> list[AnalysedPost]:
        found = [self.get(pid) for pid in post_ids]
        return [item for item in found if item is not None]

    def scheme_ids_of(self, post_ids: Sequence[str]) -> dict[str, list[str]]:
        """Post id -> the scheme ids recorded for it, sorted; posts without any are left out."""
        return _scheme_ids(self._conn, post_ids)

    def search(
        self, query: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> SearchPage:
        tokens = [t for t in self._tokenize(query) if t.strip()]
        clauses, params = where_clauses(filters)
        if tokens:
            match = _fts_query(tokens)
            base = "FROM posts_fts f JOIN posts p ON p.rowid = f.rowid WHERE posts_fts MATCH ?"
            base_params: list[Any] = [match, *params]
            order = "bm25(posts_fts)"
            score_expr = "-bm25(posts_fts)"
        else:
            base = "FROM posts p WHERE 1 = 1"
            base_params = list(params)
            order = "p.published_at DESC, p.id"  # the id settles ties, so pages never overlap
            score_expr = "0.0"
        where = "".join(f" AND {c}" for c in clauses)
        total = self._conn.execute(f"SELECT count(*) {base}{where}", base_params).fetchone()[0]
        rows = self._conn.execute(
            f"SELECT p.*, {score_expr} AS score {base}{where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*base_params, limit, offset],
        ).fetchall()
        hits = [
            SearchHit(
                post_id=r["id"],
                source_id=r["source_id"],
                url=r["url"],
                author=r["author"],
                published_at=datetime.fromisoformat(r["published_at"]),
                title=r["title"],
                snippet_html=make_snippet(r["text"], tokens),
                score=float(r["score"]),
                max_risk=float(r["max_risk"]),
                top_category=r["top_category"],
                jurisdiction=r["jurisdiction"],
            )
            for r in rows
        ]
        return SearchPage(total=total, hits=hits)

    def count(self, filters: SearchFilters | None = None) -> int:
        clauses, params = where_clauses(filters)
        where = "".join(f" AND {c}" for c in clauses)
        return int(self._conn.execute(f"SELECT count(*) FROM posts p WHERE 1 = 1{where}", params).fetchone()[0])

    def top_keywords(self, limit: int = 20, filters: SearchFilters | None = None) -> list[tuple[str, int]]:
        clauses, params = where_clauses(filters)
        where = "".join(f" AND {c}" for c in clauses)
        counts: Counter[str] = Counter()
        for (keywords,) in self._conn.execute(
            f"SELECT json_extract(p.analysis_json, '$.keywords') FROM posts p WHERE 1 = 1{where}", params
        ):
            counts.update(json.loads(keywords or "[]"))
        return counts.most_common(limit)

    # -- aggregations -------------------------------------------------------------------------

    def _rows(self, columns: str, filters: SearchFilters | None) -> sqlite3.Cursor:
        clauses, params = where_clauses(filters)
        where = "".join(f" AND {c}" for c in clauses)
        return self._conn.execute(f"SELECT {columns} FROM posts p WHERE 1 = 1{where}", params)

    def histogram(
        self,
        interval: HistogramInterval = "day",
        filters: SearchFilters | None = None,
        *,
        timezone: str = REPORT_TIMEZONE,
    ) -> list[TimeBucket]:
        zone = ZoneInfo(timezone)
        sums: dict[datetime, list[float]] = {}
        for published_at, sentiment in self._rows("p.published_at, p.sentiment", filters):
            start = bucket_start(datetime.fromisoformat(published_at), interval, zone)
            sums.setdefault(start, []).append(float(sentiment))
        if not sums:
            return []
        buckets: list[TimeBucket] = []
        start, last = min(sums), max(sums)
        while start <= last:
            values = sums.get(start, [])
            mean = sum(values) / len(values) if values else None
            buckets.append(TimeBucket(start=start, count=len(values), mean_sentiment=mean))
            start = next_bucket_start(start, interval, zone)
        return buckets

    def terms(self, field: TermsField, filters: SearchFilters | None = None, *, limit: int = 10) -> list[TermBucket]:
        counts: Counter[str] = Counter()
        if field == "keywords":
            rows = self._rows("json_extract(p.analysis_json, '$.keywords')", filters)
            for (keywords,) in rows:
                counts.update(set(json.loads(keywords or "[]")))
        elif field == "flagged_categories":
            for (flagged,) in self._rows("p.flagged_categories", filters):
                counts.update(flagged.split())
        elif field == "sentiment_label":
            for (label,) in self._rows("json_extract(p.analysis_json, '$.sentiment_label')", filters):
                counts[label] += 1
        else:
            column = {
                "source_id": "p.source_id",
                "kind": "p.kind",
                "top_category": "p.top_category",
                "jurisdiction": "p.jurisdiction",
            }[field]
            for (value,) in self._rows(column, filters):
                if value is not None:  # posts without the field are not a bucket, as in Elasticsearch
                    counts[value] += 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [TermBucket(key=key, count=count) for key, count in ranked]

    def sentiment(self, filters: SearchFilters | None = None) -> SentimentSummary:
        total, score_sum = 0, 0.0
        labels: Counter[str] = Counter()
        rows = self._rows("p.sentiment, json_extract(p.analysis_json, '$.sentiment_label')", filters)
        for score, label in rows:
            total += 1
            score_sum += float(score)
            labels[label] += 1
        return SentimentSummary(
            total=total, mean=score_sum / total if total else None, by_label=dict(sorted(labels.items()))
        )

    # -- retention ------------------------------------------------------------------------------

    def delete_older_than(self, cutoff: datetime) -> int:
        with self._transaction() as conn:
            bound = _iso(cutoff)
            conn.execute(
                "DELETE FROM posts_fts WHERE rowid IN (SELECT rowid FROM posts WHERE published_at < ?)",
                (bound,),
            )
            conn.execute(
                "DELETE FROM post_scheme_matches WHERE post_id IN (SELECT id FROM posts WHERE published_at < ?)",
                (bound,),
            )
            return conn.execute("DELETE FROM posts WHERE published_at < ?", (bound,)).rowcount

    def iter_posts(self, batch_size: int = 1000) -> Iterator[list[AnalysedPost]]:
        """Every post in insertion order, a batch at a time (`patrol reindex` reads the store this way)."""
        last = 0
        while True:
            rows = self._conn.execute(
                "SELECT rowid, post_json, analysis_json FROM posts WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, batch_size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            yield [
                AnalysedPost(
                    post=Post.model_validate_json(r["post_json"]),
                    analysis=Analysis.model_validate_json(r["analysis_json"]),
                )
                for r in rows
            ]

    def iter_flagged(self) -> Iterator[AnalysedPost]:
        for row in self._conn.execute(
            "SELECT post_json, analysis_json FROM posts WHERE flagged_categories != '' ORDER BY published_at"
        ):
            yield AnalysedPost(
                post=Post.model_validate_json(row["post_json"]),
                analysis=Analysis.model_validate_json(row["analysis_json"]),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def bucket_start(moment: datetime, interval: HistogramInterval, zone: ZoneInfo) -> datetime:
    """The first instant of the calendar interval holding `moment`, as wall time in `zone`.

    Weeks start on Monday (ISO), as Elasticsearch's calendar week does.
    """
    local = moment.astimezone(zone)
    if interval == "hour":
        wall = local.replace(minute=0, second=0, microsecond=0)
    elif interval == "day":
        wall = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif interval == "week":
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        wall = day - timedelta(days=day.weekday())
    else:
        wall = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # A ZoneInfo offset follows the wall time, so the bucket carries the offset valid at its start.
    return wall


def next_bucket_start(start: datetime, interval: HistogramInterval, zone: ZoneInfo) -> datetime:
    wall = start.replace(tzinfo=None)
    if interval == "hour":
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    if interval == "day":
        wall += timedelta(days=1)
    elif interval == "week":
        wall += timedelta(days=7)
    else:
        wall = wall.replace(year=wall.year + wall.month // 12, month=wall.month % 12 + 1)
    return wall.replace(tzinfo=zone)
