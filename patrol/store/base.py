"""The contract every post store keeps, so SQLite and Elasticsearch behave the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, Field

from patrol.schema import AnalysedPost

#: Turns user text into the same tokens the NLP stage indexed (normalise + segment).
QueryTokenizer = Callable[[str], list[str]]

#: Post ids -> the ids of the monitoring schemes recorded for each (posts without any may be left out).
SchemeIdLookup = Callable[[Sequence[str]], dict[str, list[str]]]


class SearchFilters(BaseModel):
    sources: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, description="posts whose score passes 0.5 in any")
    jurisdictions: list[str] = Field(default_factory=list)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    min_risk: float | None = None
    max_risk: float | None = None
    schemes: list[str] = Field(
        default_factory=list, description="scheme ids: posts any of these monitoring schemes matched"
    )


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
    retried: int = Field(
        default=0,
        description="documents that failed in an earlier call and were sent again in this one; their"
        " outcomes are counted above, so inserted + updated + unchanged + failed = posts given + retried",
    )


class SchemeMatchResult(BaseModel):
    """What one `record_scheme_matches` call did, per distinct (post id, scheme id) pair given:
    added + unchanged + missing + failed = pairs."""

    added: int = 0
    unchanged: int = Field(default=0, description="pairs recorded before")
    missing: int = Field(default=0, description="pairs whose post the store does not hold: nothing recorded")
    failed: int = 0
    failures: list[str] = Field(default_factory=list, description="post id: reason")


#: Time zone in which histogram buckets start: officers and analysts read Asia/Shanghai days.
REPORT_TIMEZONE = "Asia/Shanghai"

HistogramInterval = Literal["hour", "day", "week", "month"]

#: Fields a terms aggregation may group by. Never the author: no profiling of people.
TermsField = Literal[
    "source_id", "kind", "top_category", "flagged_categories", "jurisdiction", "sentiment_label", "keywords"
]


class TimeBucket(BaseModel):
    """Posts published in one calendar interval; empty intervals between the first and last are kept."""

    start: AwareDatetime = Field(description="first instant of the interval, in the histogram's time zone")
    count: int
    mean_sentiment: float | None = Field(None, description="None when the interval has no posts")


class TermBucket(BaseModel):
    key: str
    count: int


class SentimentSummary(BaseModel):
    total: int
    mean: float | None = Field(None, description="mean sentiment in [-1, 1]; None without posts")
    by_label: dict[str, int] = Field(default_factory=dict, description="sentiment label -> posts")


class PostStore(Protocol):
    def upsert(self, posts: Sequence[AnalysedPost]) -> UpsertResult: ...

    def get(self, post_id: str) -> AnalysedPost | None: ...

    def search(
        self, query: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> SearchPage: ...

    def count(self, filters: SearchFilters | None = None) -> int: ...

    def top_keywords(self, limit: int = 20, filters: SearchFilters | None = None) -> list[tuple[str, int]]: ...

    def histogram(
        self,
        interval: HistogramInterval = "day",
        filters: SearchFilters | None = None,
        *,
        timezone: str = REPORT_TIMEZONE,
    ) -> list[TimeBucket]:
        """Posts per calendar interval by publication time, oldest first."""
        ...

    def terms(self, field: TermsField, filters: SearchFilters | None = None, *, limit: int = 10) -> list[TermBucket]:
        """The most frequent values of `field`, most posts first, ties by value."""
        ...

    def sentiment(self, filters: SearchFilters | None = None) -> SentimentSummary: ...

    def record_scheme_matches(self, matches: Sequence[tuple[str, str]]) -> SchemeMatchResult:
        """Record that scheme `scheme_id` matched post `post_id`, for each (post_id, scheme_id) pair, so
        `SearchFilters(schemes=[...])` finds the post. A post keeps every scheme recorded for it, and a
        pair recorded again changes nothing."""
        ...

    def delete_older_than(self, cutoff: datetime) -> int:
        """Retention: remove every post published before `cutoff`; returns how many were removed."""
        ...

    def close(self) -> None: ...
