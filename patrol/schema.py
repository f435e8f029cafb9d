"""The plain data that flows between stages.

Every stage (crawl, analyse, index, flag) takes and returns these models, so the CLI, the Airflow
DAGs and the tests call the same functions over the same data. Times are timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

RiskCategory = Literal[
    "violence_threat",
    "weapons",
    "fraud",
    "drugs",
    "gambling",
    "public_hazard",
    "self_harm",
    "cyber_violence",
]

RISK_CATEGORIES: tuple[str, ...] = (
    "violence_threat",
    "weapons",
    "fraud",
    "drugs",
    "gambling",
    "public_hazard",
    "self_harm",
    "cyber_violence",
)

#: Categories where a life may be at stake: they skip batching and page the duty officer at once.
LIFE_SAFETY_CATEGORIES: frozenset[str] = frozenset({"violence_threat", "self_harm"})

CATEGORY_LABELS_ZH: dict[str, str] = {
    "violence_threat": "暴力威胁",
    "weapons": "枪爆物品/管制刀具",
    "fraud": "电信网络诈骗",
    "drugs": "毒品",
    "gambling": "赌博",
    "public_hazard": "安全隐患/突发事件",
    "self_harm": "自杀自伤",
    "cyber_violence": "网络暴力",
}


def make_post_id(source_id: str, native_id: str | None = None, *, url: str = "", floor: int | None = None) -> str:
    """A post id that is stable across crawls.

    The site's own id when it has one; otherwise a hash of the canonical URL and floor, so a
    re-crawl of the same page yields the same id and every write stays an upsert.
    """
    if native_id:
        return f"{source_id}:{native_id}"
    digest = hashlib.sha1(f"{url}#{floor if floor is not None else ''}".encode()).hexdigest()[:20]
    return f"{source_id}:u{digest}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone (sources default to Asia/Shanghai)")
    return value.astimezone(UTC)


class Post(BaseModel):
    """One public post as crawled: a forum floor, a weibo, a comment, an article."""

    model_config = ConfigDict(extra="forbid")

    id: str
    source_id: str
    native_id: str | None = None
    kind: str = Field(description="forum_post | weibo | comment | tieba_post | feed_item | article")
    url: str
    thread_id: str | None = None
    thread_title: str | None = None
    floor: int | None = None
    author: str | None = None
    title: str | None = None
    text: str
    quote: str | None = Field(default=None, description="quoted text, kept apart from the reply")
    published_at: AwareDatetime
    fetched_at: AwareDatetime
    repost_of: str | None = Field(default=None, description="post id of the original, for retweets")
    reply_count: int | None = None
    jurisdiction_hint: str | None = None

    _aware = field_validator("published_at", "fetched_at")(_require_aware)


class Evidence(BaseModel):
    """Why a category scored: the signal, the rule and the span in the post's original text."""

    category: str
    signal: str = Field(description="lexicon | model | ngram | rule")
    rule: str
    term: str
    start: int
    end: int
    weight: float = 1.0


class PlaceTag(BaseModel):
    name: str
    level: str = Field(description="district | street | community | landmark")
    unit: str = Field(description="jurisdiction unit id")
    start: int
    end: int


class Analysis(BaseModel):
    """What the NLP stage says of one post."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    post_id: str
    normalized_text: str
    tokens: list[str]
    keywords: list[str]
    risk_scores: dict[str, float] = Field(description="category -> score in [0, 1]")
    evidence: list[Evidence] = Field(default_factory=list)
    contexts: list[str] = Field(
        default_factory=list,
        description="mitigating contexts found: anti_fraud_publicity, past_news, fiction_game, condemnation",
    )
    places: list[PlaceTag] = Field(default_factory=list)
    jurisdiction: str | None = None
    sentiment: float = Field(0.0, description="-1 negative .. +1 positive")
    sentiment_label: str = "neutral"
    simhash: int = Field(0, description="64-bit SimHash of the normalised text, as a signed integer")
    scorer: str = Field("lexicon", description="which scorer and version produced risk_scores")


class AnalysedPost(BaseModel):
    post: Post
    analysis: Analysis


class SourceError(BaseModel):
    kind: str = Field(
        description="unreachable | timeout | http_status | bad_html | charset_mismatch | empty | parse"
        " | robots_denied | budget | state | process | ignored | locked | truncated | too_large | offsite | trap"
    )
    url: str = ""
    message: str


class CrawlReport(BaseModel):
    """What one crawl of one source did; written by the spider, read by the pass summary."""

    source_id: str
    pass_id: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    ok: bool = True
    requests: int = 0
    pages: int = 0
    items: int = 0
    new_items: int = 0
    errors: list[SourceError] = Field(default_factory=list)
    batches: list[str] = Field(default_factory=list, description="landing batch paths written")
