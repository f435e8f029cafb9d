"""The contract every post store keeps, so SQLite and Elasticsearch behave the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, Field

from patrol.schema import AnalysedPost

#: Turns user text into the same tokens the NLP stage indexed (normalise + segment).
QueryTokenizer = Callable[[str], list[str]]


class SearchFilters(BaseModel):
    sources: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, description="posts whose score passes 0.5 in any")
    jurisdictions: list[str] = Field(default_factory=list)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    min_risk: float | None = None
    max_risk: float | None = None


class SearchHit(BaseModel):
    post_id: str
    source_id: str
    url: str
    author: str | None
    published_at: datetime
    title: str | None
    snippet_html: str = Field(description="escaped text with <mark> around matched terms; safe to embed")
    score: float
    max_risk: float
    top_category: str | None
    jurisdiction: str | None


class SearchPage(BaseModel):
    total: int
    hits: list[SearchHit]


class UpsertResult(BaseModel):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[str] = Field(default_factory=list, description="post id: reason")


class PostStore(Protocol):
    def upsert(self, posts: Sequence[AnalysedPost]) -> UpsertResult: ...

    def get(self, post_id: str) -> AnalysedPost | None: ...

    def search(
        self, query: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> SearchPage: ...

    def count(self, filters: SearchFilters | None = None) -> int: ...

    def top_keywords(self, limit: int = 20, filters: SearchFilters | None = None) -> list[tuple[str, int]]: ...

    def close(self) -> None: ...
