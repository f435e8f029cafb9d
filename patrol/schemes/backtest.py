"""Backtest a query before saving it: how many stored posts of the last N days it would have found,
per day, with examples, and how that compares to the scheme's current version.

Reads the post store only; writes nothing. The same compiled matcher as the live stage is used,
so what the preview shows is what the scheme will do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field

from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE, hamming
from patrol.schema import AnalysedPost, utcnow
from patrol.schemes.context import MatchContext, context_for
from patrol.schemes.document import title_of
from patrol.schemes.environment import SchemeRuntime
from patrol.schemes.matcher import SchemeMatcher, SchemeSource
from patrol.schemes.post_index import SchemePostIndex
from patrol.schemes.quiet_hours import LOCAL_ZONE
from patrol.schemes.registry import SchemeView, get_scheme

_NEW = "new"
_CURRENT = "current"


class PreviewExample(BaseModel):
    post_id: str
    source_id: str
    published_at: AwareDatetime
    url: str
    title: str | None
    snippet: str
    terms: list[str]


class CurrentComparison(BaseModel):
    """The scheme as saved now, over the same posts."""

    name: str
    version: int
    query: str
    matches: int
    per_day: dict[str, int]
    only_new: int = Field(description="posts the new query finds and the current one does not")
    only_current: int = Field(description="posts the current query finds and the new one does not")
    examples_only_new: list[PreviewExample] = Field(default_factory=list)
    examples_only_current: list[PreviewExample] = Field(default_factory=list)


class PreviewResult(BaseModel):
    query: str
    canonical: str = Field(description="the query with its grouping made explicit")
    days: int
    since: AwareDatetime
    until: AwareDatetime
    posts_scanned: int
    matches: int
    per_day: dict[str, int] = Field(description="local date (Asia/Shanghai) -> matches, every day of the range")
    examples: list[PreviewExample]
    current: CurrentComparison | None = None


def _snippet(item: AnalysedPost, terms: Iterable[str], width: int = 80) -> str:
    text = " ".join(item.post.text.split())
    lowered = text.lower()
    at = min((i for i in (lowered.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, at - width // 4)
    piece = text[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def _example(item: AnalysedPost, terms: tuple[str, ...]) -> PreviewExample:
    post = item.post
    return PreviewExample(
        post_id=post.id,
        source_id=post.source_id,
        published_at=post.published_at,
        url=post.url,
        title=title_of(post) or None,
        snippet=_snippet(item, terms),
        terms=list(terms),
    )


class _Examples:
    """The newest posts, one per near-duplicate group, so ten copies of one spam do not fill the list."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[tuple[AnalysedPost, tuple[str, ...]]] = []

    def offer(self, item: AnalysedPost, terms: tuple[str, ...]) -> None:
        simhash = item.analysis.simhash
        for index, (kept, _) in enumerate(self.items):
            other = kept.analysis.simhash
            if simhash and other and hamming(simhash, other) <= NEAR_DUPLICATE_MAX_DISTANCE:
                if item.post.published_at > kept.post.published_at:
                    self.items[index] = (item, terms)
                return
        self.items.append((item, terms))
        self.items.sort(key=lambda pair: pair[0].post.published_at, reverse=True)
        del self.items[self.limit * 4 :]  # keep a margin: later copies may replace kept posts

    def examples(self) -> list[PreviewExample]:
        return [_example(item, terms) for item, terms in self.items[: self.limit]]


def _days(since: datetime, until: datetime) -> list[date]:
    first = since.astimezone(LOCAL_ZONE).date()
    last = (until - timedelta(microseconds=1)).astimezone(LOCAL_ZONE).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def preview_posts(
    posts: Iterable[AnalysedPost],
    query: str,
    context: MatchContext,
    *,
    since: datetime,
    until: datetime,
    current: SchemeView | None = None,
    examples: int = 5,
) -> PreviewResult:
    """Backtest `query` (and the current version, if given) over these posts; raises `QueryError`."""
    parsed = SchemeMatcher.check(query, context)
    sources = [SchemeSource(_NEW, parsed)]
    if current is not None:
        sources.append(SchemeSource(_CURRENT, current.query))
    matcher = SchemeMatcher(sources, context)
    days = _days(since, until)
    per_day = {
        _NEW: dict.fromkeys((d.isoformat() for d in days), 0),
        _CURRENT: dict.fromkeys((d.isoformat() for d in days), 0),
    }
    totals = {_NEW: 0, _CURRENT: 0}
    only = {_NEW: 0, _CURRENT: 0}
    shown = {_NEW: _Examples(examples), "only_new": _Examples(examples), "only_current": _Examples(examples)}
    scanned = 0
    for item in posts:
        scanned += 1
        hits = {hit.key: hit.terms for hit in matcher.match_post(item)}
        day = item.post.published_at.astimezone(LOCAL_ZONE).date().isoformat()
        for key in hits:
            totals[key] += 1
            if day in per_day[key]:
                per_day[key][day] += 1
        if _NEW in hits:
            shown[_NEW].offer(item, hits[_NEW])
        if current is None:
            continue
        if _NEW in hits and _CURRENT not in hits:
            only[_NEW] += 1
            shown["only_new"].offer(item, hits[_NEW])
        elif _CURRENT in hits and _NEW not in hits:
            only[_CURRENT] += 1
            shown["only_current"].offer(item, hits[_CURRENT])
    comparison = None
    if current is not None:
        comparison = CurrentComparison(
            name=current.name,
            version=current.version,
            query=current.query,
            matches=totals[_CURRENT],
            per_day=per_day[_CURRENT],
            only_new=only[_NEW],
            only_current=only[_CURRENT],
            examples_only_new=shown["only_new"].examples(),
            examples_only_current=shown["only_current"].examples(),
        )
    return PreviewResult(
        query=query,
        canonical=parsed.canonical(),
        days=max(1, round((until - since) / timedelta(days=1))),
        since=since,
        until=until,
        posts_scanned=scanned,
        matches=totals[_NEW],
        per_day=per_day[_NEW],
        examples=shown[_NEW].examples(),
        current=comparison,
    )


def preview(
    runtime: SchemeRuntime,
    query: str,
    *,
    days: int = 7,
    name: str | None = None,
    now: datetime | None = None,
    examples: int = 5,
) -> PreviewResult:
    """Backtest over the stored posts of the last `days` days (compared to scheme `name` if given)."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    until = now or utcnow()
    since = until - timedelta(days=days)
    current = None
    if name is not None:
        with runtime.workflow.read_session() as session:
            current = SchemeView.of(get_scheme(session, name))
    context = context_for(runtime.settings)
    with SchemePostIndex(runtime.settings.sqlite_path) as index:
        return preview_posts(
            index.iter_posts(since, until),
            query,
            context,
            since=since,
            until=until,
            current=current,
            examples=examples,
        )
