"""The figures of the trends page, from the post store's aggregations and the workflow tables.

Volume over time (all posts, per flagged category, per source), hot and rising keywords (this
window against the one before), sentiment, and a table per jurisdiction. All buckets are
Asia/Shanghai calendar days (hours for windows of two days or less), and every series covers the
same buckets, empty ones included, so the lines line up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patrol.schema import RISK_CATEGORIES
from patrol.store.base import HistogramInterval, PostStore, SearchFilters, SentimentSummary, TimeBucket
from patrol.store.sqlite import bucket_start, next_bucket_start
from patrol.web.timefmt import DISPLAY_ZONE
from patrol.workflow.items import OPEN_STATES
from patrol.workflow.models import ReviewItem, VerificationTask
from patrol.workflow.tasks import OPEN_TASK_STATES

TOP_SOURCES = 6
RISING_MIN_POSTS = 3
RISING_RATIO = 2.0


@dataclass
class Rising:
    keyword: str
    now: int
    before: int


@dataclass
class JurisdictionRow:
    unit_id: str
    posts: int
    flagged_posts: int
    mean_sentiment: float | None
    open_items: int
    open_tasks: int
    confirmed: int


@dataclass
class TrendsData:
    days: int
    since: datetime
    until: datetime
    interval: HistogramInterval
    labels: list[str]
    total: int
    volume: list[int]
    by_category: dict[str, list[int]]
    by_source: dict[str, list[int]]
    hot: list[tuple[str, int]]
    rising: list[Rising]
    sentiment: SentimentSummary
    sentiment_by_bucket: list[float | None]
    jurisdictions: list[JurisdictionRow] = field(default_factory=list)


def _bucket_keys(since: datetime, until: datetime, interval: HistogramInterval) -> list[datetime]:
    keys = []
    start = bucket_start(since, interval, DISPLAY_ZONE)
    while start < until:
        keys.append(start)
        start = next_bucket_start(start, interval, DISPLAY_ZONE)
    return keys


def _aligned(buckets: list[TimeBucket], keys: list[datetime]) -> list[int]:
    counts = {b.start.astimezone(DISPLAY_ZONE).replace(tzinfo=None): b.count for b in buckets}
    return [counts.get(k.replace(tzinfo=None), 0) for k in keys]


def _rising(store: PostStore, window: SearchFilters, before: SearchFilters) -> list[Rising]:
    now_terms = store.terms("keywords", window, limit=200)
    before_counts = {t.key: t.count for t in store.terms("keywords", before, limit=2000)}
    found = [
        Rising(t.key, t.count, before_counts.get(t.key, 0))
        for t in now_terms
        if t.count >= RISING_MIN_POSTS and t.count >= RISING_RATIO * max(1, before_counts.get(t.key, 0))
    ]
    return sorted(found, key=lambda r: (-(r.now - r.before), r.keyword))[:15]


def _jurisdictions(
    store: PostStore, session: Session, window: SearchFilters, since: datetime
) -> list[JurisdictionRow]:
    posts = {t.key: t.count for t in store.terms("jurisdiction", window, limit=50)}
    flagged_filter = window.model_copy(update={"categories": list(RISK_CATEGORIES)})
    flagged = {t.key: t.count for t in store.terms("jurisdiction", flagged_filter, limit=50)}
    open_items = dict(
        session.execute(
            select(ReviewItem.jurisdiction, func.count())
            .where(ReviewItem.status.in_(list(OPEN_STATES)))
            .group_by(ReviewItem.jurisdiction)
        )
        .tuples()
        .all()
    )
    open_tasks = dict(
        session.execute(
            select(VerificationTask.unit_id, func.count())
            .where(VerificationTask.status.in_(list(OPEN_TASK_STATES)))
            .group_by(VerificationTask.unit_id)
        )
        .tuples()
        .all()
    )
    confirmed = dict(
        session.execute(
            select(VerificationTask.unit_id, func.count())
            .where(VerificationTask.outcome == "confirmed", VerificationTask.completed_at >= since)
            .group_by(VerificationTask.unit_id)
        )
        .tuples()
        .all()
    )
    units = sorted({*posts, *(k for k in open_items if k), *open_tasks}, key=lambda u: (-posts.get(u, 0), u))
    rows = []
    for unit in units[:30]:
        mood = (
            store.sentiment(window.model_copy(update={"jurisdictions": [unit]})).mean
            if posts.get(unit)
            else None
        )
        rows.append(
            JurisdictionRow(
                unit_id=unit,
                posts=posts.get(unit, 0),
                flagged_posts=flagged.get(unit, 0),
                mean_sentiment=mood,
                open_items=open_items.get(unit, 0),
                open_tasks=open_tasks.get(unit, 0),
                confirmed=confirmed.get(unit, 0),
            )
        )
    return rows


def compute_trends(store: PostStore, session: Session, *, days: int, now: datetime) -> TrendsData:
    until = now
    since = now - timedelta(days=days)
    interval: HistogramInterval = "hour" if days <= 2 else "day"
    keys = _bucket_keys(since, until, interval)
    window = SearchFilters(since=since, until=until)
    before = SearchFilters(since=since - timedelta(days=days), until=since)
    overall = store.histogram(interval, window, timezone=str(DISPLAY_ZONE))
    by_category = {}
    for category in RISK_CATEGORIES:
        counts = _aligned(
            store.histogram(
                interval, window.model_copy(update={"categories": [category]}), timezone=str(DISPLAY_ZONE)
            ),
            keys,
        )
        if any(counts):
            by_category[category] = counts
    by_source = {}
    for term in store.terms("source_id", window, limit=TOP_SOURCES):
        by_source[term.key] = _aligned(
            store.histogram(
                interval, window.model_copy(update={"sources": [term.key]}), timezone=str(DISPLAY_ZONE)
            ),
            keys,
        )
    mood_by_start = {b.start.astimezone(DISPLAY_ZONE).replace(tzinfo=None): b.mean_sentiment for b in overall}
    fmt = "%m-%d %H:00" if interval == "hour" else "%m-%d"
    volume = _aligned(overall, keys)
    return TrendsData(
        days=days,
        since=since,
        until=until,
        interval=interval,
        labels=[k.strftime(fmt) for k in keys],
        total=sum(volume),
        volume=volume,
        by_category=by_category,
        by_source=by_source,
        hot=[(t.key, t.count) for t in store.terms("keywords", window, limit=15)],
        rising=_rising(store, window, before),
        sentiment=store.sentiment(window),
        sentiment_by_bucket=[mood_by_start.get(k.replace(tzinfo=None)) for k in keys],
        jurisdictions=_jurisdictions(store, session, window, since),
    )
