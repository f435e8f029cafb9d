"""The live matching stage: every analysed post against every active scheme, matches stored per
(scheme, post), real-time alerts queued.

Idempotent: a (scheme, post) pair is stored once (unique constraint, checked first), alert keys
are unique, and every hit of every run is recorded in the post store (`record_scheme_matches`: SQLite's
`post_scheme_matches`, and `scheme_ids` in Elasticsearch where configured), which doubles nothing, so a
run that crashed between the workflow database and the post store is completed by the next one.
Schemes never open review items: risk comes from the risk stage alone.

Called from the pipeline's flag stage:

    from patrol.schemes.live import match_schemes
    report = match_schemes(runtime, analysed)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import cast

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE, hamming
from patrol.schema import LIFE_SAFETY_CATEGORIES, AnalysedPost, utcnow
from patrol.schemes.alerts import NewMatch, SchemeAlertReport, queue_realtime_alerts
from patrol.schemes.context import MatchContext, context_for, default_context
from patrol.schemes.environment import SchemeRuntime
from patrol.schemes.matcher import SchemeHit, SchemeMatcher, SchemeSource
from patrol.schemes.models import Scheme, SchemeMatch
from patrol.schemes.post_index import SchemePostIndex
from patrol.schemes.registry import SchemeView, live_scheme_sources
from patrol.store.base import PostStore, SchemeMatchResult
from patrol.store.factory import open_post_store
from patrol.thresholds import load_thresholds

log = logging.getLogger("patrol.schemes.live")

#: A first crawl of an old thread must not page anyone: older matches are stored, not alerted.
REALTIME_MAX_AGE = timedelta(hours=48)
#: How far back a new match looks for a near-duplicate group of the same scheme to join.
GROUP_LOOKBACK = timedelta(days=7)
_MATCHER_MEMO = 4
_FAILURES_KEPT = 100


class SchemeMatchReport(BaseModel):
    schemes: int = Field(default=0, description="active schemes the posts were matched against")
    posts: int = 0
    matched_posts: int = Field(default=0, description="posts found by at least one scheme")
    new_matches: int = 0
    already_matched: int = 0
    new_by_scheme: dict[str, int] = Field(default_factory=dict, description="scheme name -> new matches")
    not_alerted_old: int = Field(default=0, description="new matches of posts too old for a real-time alert")
    alerts: SchemeAlertReport = Field(default_factory=lambda: SchemeAlertReport())
    skipped_schemes: dict[str, str] = Field(
        default_factory=dict, description="scheme name -> why its query no longer compiles"
    )
    recorded: SchemeMatchResult = Field(
        default_factory=SchemeMatchResult,
        description="the post store's side: (post, scheme) pairs recorded for search by scheme",
    )


def compiled_matcher(context: MatchContext, sources: Sequence[SchemeSource]) -> SchemeMatcher:
    """A matcher for these schemes, reused while they stay the same (compiling 1,000 takes a while)."""
    fingerprint = tuple(
        (s.key, s.query if isinstance(s.query, str) else s.query.text, s.active_from, s.active_until) for s in sources
    )
    memo = context.compiled
    found = memo.get(fingerprint)
    if found is None:
        if len(memo) >= _MATCHER_MEMO:
            memo.clear()
        found = SchemeMatcher(sources, context)
        memo[fingerprint] = found
    return cast(SchemeMatcher, found)


def match_schemes(
    target: SchemeRuntime | Session,
    analysed: Sequence[AnalysedPost],
    *,
    now: datetime | None = None,
    context: MatchContext | None = None,
) -> SchemeMatchReport:
    """Match analysed posts against all active schemes; store matches; queue real-time alerts.

    `target` is the runtime (matches go to the workflow database and to the runtime's post store,
    `record_scheme_matches`, so both SQLite and Elasticsearch can filter by scheme) or a workflow
    session (the workflow database only, in that transaction; the caller commits; pass
    `context=context_for(settings)` to use the configured thresholds and gazetteer rather than the
    shipped ones).
    """
    now = now or utcnow()
    if isinstance(target, Session):
        report, _ = _match(target, analysed, context or default_context(), now)
        return report
    runtime = target
    context = context or context_for(runtime.settings)
    with runtime.workflow.session() as session:
        report, hits = _match(session, analysed, context, now)
    if hits:
        with post_store_of(runtime) as store:
            report.recorded = _record(store, hits)
    return report


@contextmanager
def post_store_of(runtime: SchemeRuntime) -> Iterator[PostStore]:
    """The runtime's post store; a process without one (`SchemeEnvironment`: no NLP loaded) gets the
    configured store (SQLite, mirrored into Elasticsearch when PATROL_ES_URL is set) for the call."""
    own: PostStore | None = getattr(runtime, "store", None)
    if own is not None:
        yield own
        return
    settings = runtime.settings
    # Recording matches neither tokenises queries nor scores risk: the plain tokenizer does.
    opened = open_post_store(settings, str.split, load_thresholds(settings.thresholds_file))
    try:
        yield opened
    finally:
        opened.close()


def _record(store: PostStore, pairs: Sequence[tuple[str, str]]) -> SchemeMatchResult:
    recorded = store.record_scheme_matches(pairs)
    if recorded.failed:
        log.warning(
            "scheme matches not recorded in the post store",
            extra={"failed": recorded.failed, "first": recorded.failures[:3]},
        )
    # A sample of the failures: an outage fails every pair, and the report goes into pass reports.
    return recorded.model_copy(update={"failures": recorded.failures[:_FAILURES_KEPT]})


def _match(
    session: Session, analysed: Sequence[AnalysedPost], context: MatchContext, now: datetime
) -> tuple[SchemeMatchReport, list[tuple[str, str]]]:
    """The report, and every (post id, scheme id) hit, new or not, for the post store."""
    report = SchemeMatchReport(posts=len(analysed))
    live = live_scheme_sources(session, now)
    report.schemes = len(live)
    if not live or not analysed:
        return report, []
    views = {view.id: view for view, _ in live}
    matcher = compiled_matcher(context, [source for _, source in live])
    report.schemes = matcher.scheme_count
    report.skipped_schemes = {views[key].name: str(error) for key, error in matcher.errors.items()}
    found: list[tuple[AnalysedPost, SchemeHit]] = []
    seen: set[str] = set()
    for item in analysed:
        if item.post.id in seen:
            continue
        seen.add(item.post.id)
        hits = matcher.match_post(item)
        if hits:
            report.matched_posts += 1
        found.extend((item, hit) for hit in hits)
    pairs = [(item.post.id, hit.key) for item, hit in found]
    if found:
        new = store_matches(session, found, views, context, now, report)
        _alert(session, new, now, report)
    log.info(
        "schemes matched",
        extra={"posts": report.posts, "schemes": report.schemes, "new_matches": report.new_matches},
    )
    return report, pairs


def store_matches(
    session: Session,
    found: Sequence[tuple[AnalysedPost, SchemeHit]],
    views: dict[str, SchemeView],
    context: MatchContext,
    now: datetime,
    report: SchemeMatchReport,
    *,
    backfill: bool = False,
) -> list[NewMatch]:
    """Insert the (scheme, post) pairs not stored yet, each in its near-duplicate group.

    A backfilled match is dated at its post's publication (not now), so the next digest does not
    report a month of history as found this hour.
    """
    post_ids = {item.post.id for item, _ in found}
    existing = set(
        session.execute(
            select(SchemeMatch.scheme_id, SchemeMatch.post_id).where(SchemeMatch.post_id.in_(post_ids))
        ).tuples()
    )
    fresh = [(item, hit) for item, hit in found if (hit.key, item.post.id) not in existing]
    report.already_matched += len(found) - len(fresh)
    groups = _recent_groups(session, {hit.key for _, hit in fresh}, now)
    stored: list[NewMatch] = []
    # Oldest first, so a group is named after its earliest post whatever order copies arrive in.
    for item, hit in sorted(fresh, key=lambda pair: (pair[0].post.published_at, pair[0].post.id, pair[1].key)):
        post, analysis = item.post, item.analysis
        group = _find_group(groups.setdefault(hit.key, []), analysis.simhash) or post.id
        groups[hit.key].append((analysis.simhash, group))
        flagged = context.flagged_categories(analysis.risk_scores)
        row = SchemeMatch(
            scheme_id=hit.key,
            post_id=post.id,
            scheme_version=views[hit.key].version,
            source_id=post.source_id,
            published_at=post.published_at,
            matched_at=min(now, post.published_at) if backfill else now,
            simhash=analysis.simhash,
            group_post_id=group,
            terms_json=json.dumps(list(hit.terms), ensure_ascii=False),
            life_safety=not flagged.isdisjoint(LIFE_SAFETY_CATEGORIES),
            jurisdiction=analysis.jurisdiction or post.jurisdiction_hint,
        )
        session.add(row)
        stored.append(NewMatch(row, item))
        name = views[hit.key].name
        report.new_by_scheme[name] = report.new_by_scheme.get(name, 0) + 1
    session.flush()
    report.new_matches += len(stored)
    return stored


def _recent_groups(session: Session, scheme_ids: set[str], now: datetime) -> dict[str, list[tuple[int, str]]]:
    groups: dict[str, list[tuple[int, str]]] = {}
    if not scheme_ids:
        return groups
    rows = session.execute(
        select(SchemeMatch.scheme_id, SchemeMatch.simhash, SchemeMatch.group_post_id).where(
            SchemeMatch.scheme_id.in_(scheme_ids), SchemeMatch.matched_at >= now - GROUP_LOOKBACK
        )
    )
    for scheme_id, simhash, group in rows.tuples():
        groups.setdefault(scheme_id, []).append((simhash, group))
    return groups


def _find_group(members: list[tuple[int, str]], simhash: int) -> str | None:
    if simhash == 0:  # no fingerprint (empty text): never group by accident
        return None
    for other, group in members:
        if other != 0 and hamming(simhash, other) <= NEAR_DUPLICATE_MAX_DISTANCE:
            return group
    return None


def _alert(session: Session, new: Sequence[NewMatch], now: datetime, report: SchemeMatchReport) -> None:
    by_scheme: dict[str, list[NewMatch]] = {}
    for match in new:
        if match.post.post.published_at < now - REALTIME_MAX_AGE:
            report.not_alerted_old += 1
            continue
        by_scheme.setdefault(match.match.scheme_id, []).append(match)
    if not by_scheme:
        return
    schemes = session.scalars(
        select(Scheme)
        .options(selectinload(Scheme.subscribers))
        .where(Scheme.id.in_(by_scheme), Scheme.alert_mode == "realtime")
    ).all()
    for scheme in schemes:
        queue_realtime_alerts(session, scheme, by_scheme[scheme.id], now, report.alerts)


def backfill_scheme(
    runtime: SchemeRuntime, name_or_id: str, *, days: int, now: datetime | None = None
) -> SchemeMatchReport:
    """Match one scheme against the stored posts of the last `days` days; stores matches, sends no alert.

    Gives a new scheme its history (the page's timeline, the spike baseline).
    """
    from patrol.schemes.registry import get_scheme

    now = now or utcnow()
    context = context_for(runtime.settings)
    with runtime.workflow.session() as session:
        view = SchemeView.of(get_scheme(session, name_or_id))
    source = SchemeSource(view.id, view.query, view.active_from, view.active_until)
    matcher = SchemeMatcher([source], context)
    if view.id in matcher.errors:
        raise matcher.errors[view.id]
    report = SchemeMatchReport(schemes=1)
    found: list[tuple[AnalysedPost, SchemeHit]] = []
    with SchemePostIndex(runtime.settings.sqlite_path) as index:
        for item in index.iter_posts(now - timedelta(days=days), now):
            report.posts += 1
            hits = matcher.match_post(item)
            if hits:
                report.matched_posts += 1
            found.extend((item, hit) for hit in hits)
    with post_store_of(runtime) as store:
        for start in range(0, len(found), 500):
            chunk = found[start : start + 500]
            with runtime.workflow.session() as session:
                store_matches(session, chunk, {view.id: view}, context, now, report, backfill=True)
            recorded = _record(store, [(item.post.id, hit.key) for item, hit in chunk])
            report.recorded = _sum(report.recorded, recorded)
    return report


def _sum(total: SchemeMatchResult, part: SchemeMatchResult) -> SchemeMatchResult:
    return SchemeMatchResult(
        added=total.added + part.added,
        unchanged=total.unchanged + part.unchanged,
        missing=total.missing + part.missing,
        failed=total.failed + part.failed,
        failures=(total.failures + part.failures)[:_FAILURES_KEPT],
    )
