"""Post stores: the embedded SQLite default and (later) Elasticsearch, behind one contract."""

from patrol.store.base import (
    PostStore,
    SchemeMatchResult,
    SearchFilters,
    SearchHit,
    SearchPage,
    UpsertResult,
)

__all__ = ["PostStore", "SchemeMatchResult", "SearchFilters", "SearchHit", "SearchPage", "UpsertResult"]
