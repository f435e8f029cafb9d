"""Which post store a process uses: SQLite alone, or SQLite mirrored into Elasticsearch.

With `PATROL_ES_URL` unset, the embedded SQLite store is the store. With it set, SQLite stays the
embedded copy every write lands in first (the workflow reads it, the ledger lives beside it, and
`patrol reindex` rebuilds Elasticsearch from it), and Elasticsearch serves search and analytics.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from patrol.config import Settings
from patrol.schema import AnalysedPost
from patrol.store.base import (
    REPORT_TIMEZONE,
    HistogramInterval,
    PostStore,
    QueryTokenizer,
    SchemeIdLookup,
    SchemeMatchResult,
    SearchFilters,
    SearchPage,
    SentimentSummary,
    TermBucket,
    TermsField,
    TimeBucket,
    UpsertResult,
)
from patrol.store.elastic import ElasticPostStore
from patrol.store.sqlite import SqlitePostStore, scheme_ids_reader
from patrol.thresholds import Thresholds


def dead_letter_path(settings: Settings) -> Path:
    """Where documents Elasticsearch did not take wait for the next upsert."""
    return settings.data_dir / "dead-letter" / "elasticsearch.jsonl"


def open_elastic_store(
    settings: Settings,
    tokenize: QueryTokenizer,
    thresholds: Thresholds,
    *,
    refresh: bool = True,
    scheme_ids: SchemeIdLookup | None = None,
) -> ElasticPostStore:
    """The Elasticsearch store; documents carry the schemes the SQLite store recorded for each post
    (`scheme_ids`, by default read from the SQLite file, so `patrol reindex` copies them too)."""
    if settings.es_url is None:
        raise ValueError("PATROL_ES_URL is not set: point it at the cluster, e.g. http://elastic:<password>@host:9200")
    return ElasticPostStore.from_url(
        settings.es_url,
        dead_letter_path=dead_letter_path(settings),
        tokenize=tokenize,
        thresholds=thresholds,
        refresh=refresh,
        scheme_ids=scheme_ids or scheme_ids_reader(settings.sqlite_path),
    )


def open_post_store(settings: Settings, tokenize: QueryTokenizer, thresholds: Thresholds) -> PostStore:
    """SQLite when `settings.es_url` is None; otherwise SQLite mirrored into Elasticsearch."""
    sqlite = SqlitePostStore(settings.sqlite_path, tokenize=tokenize, thresholds=thresholds)
    if settings.es_url is None:
        return sqlite
    search = open_elastic_store(settings, tokenize, thresholds, scheme_ids=sqlite.scheme_ids_of)
    return MirroredPostStore(sqlite, search)


class MirroredPostStore:
    """Writes go to SQLite, then to Elasticsearch; reads of one post come from SQLite, searches and
    aggregations from Elasticsearch.

    The counts returned are SQLite's (what is new to the pipeline); Elasticsearch's failures are
    added to `failed` and `failures` (prefixed "elasticsearch:"), and they wait in its dead-letter
    file for the next call, which retries them (`retried`).
    """

    def __init__(self, primary: SqlitePostStore, search: ElasticPostStore) -> None:
        self.primary = primary
        self.search_store = search

    def upsert(self, posts: Sequence[AnalysedPost]) -> UpsertResult:
        result = self.primary.upsert(posts)
        # A post SQLite refused (bad data) would fail in Elasticsearch too, then wait there forever.
        refused = {f.split(": ", 1)[0] for f in result.failures}
        mirrored = self.search_store.upsert([p for p in posts if p.post.id not in refused])
        return result.model_copy(
            update={
                "failed": result.failed + mirrored.failed,
                "failures": result.failures + [f"elasticsearch: {f}" for f in mirrored.failures],
                "retried": mirrored.retried,
            }
        )

    def record_scheme_matches(self, matches: Sequence[tuple[str, str]]) -> SchemeMatchResult:
        """SQLite's counts; Elasticsearch's failures are added as for upserts. Elasticsearch is asked
        only about the posts SQLite holds; a pair it misses or fails reaches it with the post's next
        write (documents carry SQLite's scheme ids), or with `patrol reindex`."""
        result = self.primary.record_scheme_matches(matches)
        held = set(self.primary.scheme_ids_of(list({post_id for post_id, _ in matches})))
        mirrored = self.search_store.record_scheme_matches([m for m in matches if m[0] in held])
        return result.model_copy(
            update={
                "failed": result.failed + mirrored.failed,
                "failures": result.failures + [f"elasticsearch: {f}" for f in mirrored.failures],
            }
        )

    def get(self, post_id: str) -> AnalysedPost | None:
        return self.primary.get(post_id)

    def search(
        self, query: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> SearchPage:
        return self.search_store.search(query, filters, limit=limit, offset=offset)

    def count(self, filters: SearchFilters | None = None) -> int:
        return self.search_store.count(filters)

    def top_keywords(self, limit: int = 20, filters: SearchFilters | None = None) -> list[tuple[str, int]]:
        return self.search_store.top_keywords(limit, filters)

    def histogram(
        self,
        interval: HistogramInterval = "day",
        filters: SearchFilters | None = None,
        *,
        timezone: str = REPORT_TIMEZONE,
    ) -> list[TimeBucket]:
        return self.search_store.histogram(interval, filters, timezone=timezone)

    def terms(self, field: TermsField, filters: SearchFilters | None = None, *, limit: int = 10) -> list[TermBucket]:
        return self.search_store.terms(field, filters, limit=limit)

    def sentiment(self, filters: SearchFilters | None = None) -> SentimentSummary:
        return self.search_store.sentiment(filters)

    def delete_older_than(self, cutoff: datetime) -> int:
        removed = self.primary.delete_older_than(cutoff)
        self.search_store.delete_older_than(cutoff)
        return removed

    def close(self) -> None:
        self.primary.close()
        self.search_store.close()
