"""Post stores: the embedded SQLite default and (later) Elasticsearch, behind one contract."""

from patrol.store.base import PostStore, SearchFilters, SearchHit, SearchPage, UpsertResult

__all__ = ["PostStore", "SearchFilters", "SearchHit", "SearchPage", "UpsertResult"]
