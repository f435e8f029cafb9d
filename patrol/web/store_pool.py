"""The embedded SQLite store opened once per server thread, so searches run side by side.

`SqlitePostStore` keeps one connection, which serialises every query on it; the console answers
requests from a pool of threads, and SQLite in WAL mode lets readers run in parallel, each on its
own connection. Only reads go through here: the console never writes posts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from patrol.schema import AnalysedPost
from patrol.store.base import (
    REPORT_TIMEZONE,
    HistogramInterval,
    SearchFilters,
    SearchPage,
    SentimentSummary,
    TermBucket,
    TermsField,
    TimeBucket,
)
from patrol.store.sqlite import SqlitePostStore


class PerThreadSqliteStore:
    def __init__(self, open_store: Callable[[], SqlitePostStore]) -> None:
        self._open = open_store
        self._local = threading.local()
        self._opened: list[SqlitePostStore] = []
        self._lock = threading.Lock()

    def _store(self) -> SqlitePostStore:
        store: SqlitePostStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._open()
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def get(self, post_id: str) -> AnalysedPost | None:
        return self._store().get(post_id)

    def search(
        self, query: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> SearchPage:
        return self._store().search(query, filters, limit=limit, offset=offset)

    def count(self, filters: SearchFilters | None = None) -> int:
        return self._store().count(filters)

    def top_keywords(self, limit: int = 20, filters: SearchFilters | None = None) -> list[tuple[str, int]]:
        return self._store().top_keywords(limit, filters)

    def histogram(
        self,
        interval: HistogramInterval = "day",
        filters: SearchFilters | None = None,
        *,
        timezone: str = REPORT_TIMEZONE,
    ) -> list[TimeBucket]:
        return self._store().histogram(interval, filters, timezone=timezone)

    def terms(
        self, field: TermsField, filters: SearchFilters | None = None, *, limit: int = 10
    ) -> list[TermBucket]:
        return self._store().terms(field, filters, limit=limit)

    def sentiment(self, filters: SearchFilters | None = None) -> SentimentSummary:
        return self._store().sentiment(filters)

    def upsert(self, posts: Any) -> Any:
        return self._store().upsert(posts)

    def record_scheme_matches(self, matches: Any) -> Any:
        return self._store().record_scheme_matches(matches)

    def delete_older_than(self, cutoff: datetime) -> int:
        return self._store().delete_older_than(cutoff)

    def close(self) -> None:
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
        self._local = threading.local()
