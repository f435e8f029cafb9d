"""The live matching stage: matches per (scheme, post) in both stores, idempotent, real-time alerts
per near-duplicate group routed to each subscriber unit's channels, and never a review item."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patrol.config import load_settings
from patrol.schema import AnalysedPost, Analysis, PlaceTag
from patrol.schemes.context import MatchContext
from patrol.schemes.environment import SchemeEnvironment
from patrol.schemes.live import match_schemes
from patrol.schemes.models import SchemeAlert, SchemeMatch
from patrol.schemes.post_index import SchemePostIndex, posts_matching_scheme
from patrol.schemes.registry import SchemeSpec, Subscriber, add_scheme
from patrol.schemes.summary import scheme_summary
from patrol.store.base import SearchFilters
from patrol.store.sqlite import SqlitePostStore
from patrol.workflow.models import NotificationChannel, OutboxDelivery, OutboxEvent, ReviewItem
from patrol.workflow.outbox import add_channel
from patrol.workflow.testing import PG_SKIP_REASON, isolated_postgres_url, postgres_test_url
from tests.conftest import make_post

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # 14:00 in Harbin
CONTEXT = MatchContext()
GROUP = 0x1234_5678_9ABC_DEF0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SchemeEnvironment]:
    if request.param == "sqlite":
        with SchemeEnvironment(load_settings(data_dir=tmp_path / "data")) as environment:
            yield environment
        return
    base = postgres_test_url()
    if base is None:
        pytest.skip(PG_SKIP_REASON)
    with (
        isolated_postgres_url(base) as url,
        SchemeEnvironment(load_settings(data_dir=tmp_path / "data", database_url=url)) as environment,
    ):
        yield environment


def analysed(
    native_id: str,
    text: str,
    *,
    minutes: int = -30,
    simhash: int = 0,
    scores: dict[str, float] | None = None,
    places: tuple[str, ...] = (),
    source_id: str = "test-forum",
) -> AnalysedPost:
    post = make_post(native_id, text, source_id=source_id)
    post = post.model_copy(update={"published_at": NOW + timedelta(minutes=minutes)})
    normalized = CONTEXT.normalize(text)
    analysis = Analysis(
        post_id=post.id,
        normalized_text=normalized,
        tokens=CONTEXT.cut(normalized),
        keywords=[],
        risk_scores=scores or {},
        places=[PlaceTag(name=p, level="district", unit="xf-branch", start=0, end=1) for p in places],
        simhash=simhash,
    )
    return AnalysedPost(post=post, analysis=analysis)


def add(env: SchemeEnvironment, name: str, query: str, *subscribers: str, mode: str = "realtime") -> str:
    spec = SchemeSpec.model_validate(
        {
            "name": name,
            "purpose": f"测试：{name}",
            "owner": "li",
            "query": query,
            "alert_mode": mode,
            "subscribers": [Subscriber.parse(s) for s in subscribers],
        }
    )
    with env.workflow.session() as session:
        return add_scheme(session, spec, actor="li", context=CONTEXT, now=NOW - timedelta(days=1)).id


def test_a_post_counts_for_every_scheme_that_finds_it_and_reruns_change_nothing(env: SchemeEnvironment) -> None:
    gas = add(env, "gas", "燃气")
    leak = add(env, "leak", "泄漏 place:香坊")
    posts = [
        analysed("1", "香坊燃气泄漏了", places=("香坊区",), source_id="bbs"),
        analysed("2", "燃气费又涨了", source_id="weibo"),
        analysed("3", "今天天气不错"),
    ]
    SqlitePostStore(env.settings.sqlite_path).upsert(posts)
    first = match_schemes(env, posts, now=NOW, context=CONTEXT)
    assert (first.schemes, first.posts, first.matched_posts, first.new_matches) == (2, 3, 2, 3)
    assert first.new_by_scheme == {"gas": 2, "leak": 1}
    assert (first.recorded.added, first.recorded.unchanged, first.recorded.failed) == (3, 0, 0)
    again = match_schemes(env, posts, now=NOW + timedelta(minutes=5), context=CONTEXT)
    assert (again.new_matches, again.already_matched) == (0, 3)
    assert (again.recorded.added, again.recorded.unchanged) == (0, 3)  # the post store doubles nothing
    with env.workflow.read_session() as session:
        pairs = session.execute(select(SchemeMatch.scheme_id, SchemeMatch.post_id, SchemeMatch.terms_json)).all()
        assert sorted((s, p) for s, p, _ in pairs) == sorted([(gas, "bbs:1"), (gas, "weibo:2"), (leak, "bbs:1")])
        assert {json.loads(t)[0] for s, _, t in pairs if s == leak} == {"泄漏"}
    page = posts_matching_scheme(env.settings.sqlite_path, gas)
    assert page.total == 2 and [hit.post_id for hit in page.hits] == ["bbs:1", "weibo:2"]
    assert page.hits[0].snippet_html == "香坊燃气泄漏了"
    only_weibo = posts_matching_scheme(env.settings.sqlite_path, gas, SearchFilters(sources=["weibo"]))
    assert [hit.post_id for hit in only_weibo.hits] == ["weibo:2"]
    with SchemePostIndex(env.settings.sqlite_path) as index:
        assert index.schemes_of_post("bbs:1") == sorted([gas, leak])
        assert index.count(leak) == 1


def test_realtime_alerts_go_once_per_near_duplicate_group_to_each_subscribers_channels(
    env: SchemeEnvironment,
) -> None:
    scheme_id = add(env, "guns", "仿真枪 出售", "unit:xf-branch", "unit:ng-branch")
    with env.workflow.session() as session:
        for unit in ("xf-branch", "ng-branch", "dl-branch"):
            add_channel(
                session,
                name=f"hook-{unit}",
                kind="webhook",
                at=NOW,
                unit_id=unit,
                topics=["scheme.*"],
                config={"url": f"https://{unit}.example.org/hook", "secret": "s" * 16},
            )
    batch = [
        analysed("1", "出售仿真枪，同城面交", simhash=GROUP, minutes=-50),
        analysed("2", "转：出售仿真枪，同城面交", simhash=GROUP ^ 0b11, minutes=-40, source_id="weibo"),
        analysed("3", "仿真枪低价出售，量大从优", simhash=~GROUP & 0xFFFF_FFFF, minutes=-30),
    ]
    report = match_schemes(env, batch, now=NOW, context=CONTEXT)
    assert report.new_matches == 3
    assert (report.alerts.queued, report.alerts.held) == (4, 0)  # 2 groups x 2 units
    later_copy = [analysed("4", "出售仿真枪，同城面交！", simhash=GROUP ^ 0b100, minutes=-5)]
    assert match_schemes(env, later_copy, now=NOW + timedelta(minutes=10), context=CONTEXT).alerts.queued == 0
    assert match_schemes(env, batch, now=NOW + timedelta(minutes=20), context=CONTEXT).alerts.queued == 0
    with env.workflow.read_session() as session:
        groups = dict(session.execute(select(SchemeMatch.post_id, SchemeMatch.group_post_id)).tuples().all())
        assert groups == {
            "test-forum:1": "test-forum:1",
            "weibo:2": "test-forum:1",
            "test-forum:3": "test-forum:3",
            "test-forum:4": "test-forum:1",
        }
        per_channel = dict(
            session.execute(
                select(NotificationChannel.name, func.count(OutboxDelivery.id))
                .join(OutboxDelivery, OutboxDelivery.channel_id == NotificationChannel.id, isouter=True)
                .group_by(NotificationChannel.name)
            )
            .tuples()
            .all()
        )
        assert per_channel == {"hook-xf-branch": 2, "hook-ng-branch": 2, "hook-dl-branch": 0}
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.unit_id == "xf-branch")).first()
        assert event is not None and event.topic == "scheme.match"
        payload = json.loads(event.payload_json)
        assert payload["scheme"]["id"] == scheme_id and payload["scheme"]["purpose"] == "测试：guns"
        assert payload["summary"].startswith("监测方案「guns」新匹配")
        assert payload["post"]["terms"] == ["仿真枪", "出售"]


def test_old_posts_are_matched_but_do_not_page_anyone(env: SchemeEnvironment) -> None:
    add(env, "gas", "燃气", "unit:xf-branch")
    report = match_schemes(env, [analysed("1", "燃气泄漏", minutes=-3 * 24 * 60)], now=NOW, context=CONTEXT)
    assert (report.new_matches, report.not_alerted_old, report.alerts.queued) == (1, 1, 0)


def test_only_realtime_schemes_alert_per_match(env: SchemeEnvironment) -> None:
    add(env, "digest", "燃气", "unit:xf-branch", mode="digest")
    add(env, "spike", "燃气", "unit:xf-branch", mode="spike")
    report = match_schemes(env, [analysed("1", "燃气泄漏")], now=NOW, context=CONTEXT)
    assert report.new_matches == 2 and report.alerts.queued == report.alerts.held == 0


def test_schemes_never_open_review_items(env: SchemeEnvironment) -> None:
    add(env, "guns", "仿真枪", "unit:xf-branch")
    risky = analysed("1", "出售仿真枪", scores={"weapons": 0.95, "self_harm": 0.9})
    report = match_schemes(env, [risky], now=NOW, context=CONTEXT)
    assert report.new_matches == 1
    with env.workflow.read_session() as session:
        assert session.scalar(select(func.count()).select_from(ReviewItem)) == 0
        match = session.scalars(select(SchemeMatch)).one()
        assert match.life_safety  # remembered for quiet hours, nothing more


def test_within_a_callers_session_the_caller_commits(env: SchemeEnvironment) -> None:
    add(env, "gas", "燃气")
    with env.workflow.session() as session:
        report = match_schemes(session, [analysed("1", "燃气泄漏")], now=NOW, context=CONTEXT)
        assert report.new_matches == 1
    with env.workflow.read_session() as session:
        assert session.scalar(select(func.count()).select_from(SchemeMatch)) == 1
        assert session.scalar(select(func.count()).select_from(SchemeAlert)) == 0


def test_no_schemes_no_work(env: SchemeEnvironment) -> None:
    report = match_schemes(env, [analysed("1", "燃气泄漏")], now=NOW, context=CONTEXT)
    assert (report.schemes, report.new_matches) == (0, 0)


def test_summary_for_the_scheme_page_and_the_weekly_report(env: SchemeEnvironment) -> None:
    add(env, "gas", "燃气 OR 煤气")
    posts = [
        analysed("1", "香坊燃气泄漏了", places=("香坊区",), simhash=GROUP, minutes=-300),
        analysed("2", "转：香坊燃气泄漏了", places=("香坊区",), simhash=GROUP ^ 1, minutes=-200, source_id="weibo"),
        analysed("3", "南岗煤气味很大", places=("南岗区",), simhash=~GROUP & 0xFFFF, minutes=-100),
    ]
    SqlitePostStore(env.settings.sqlite_path).upsert(posts)
    match_schemes(env, posts, now=NOW, context=CONTEXT)
    with env.workflow.read_session() as session:
        summary = scheme_summary(
            session, "gas", since=NOW - timedelta(days=2), until=NOW, store_path=env.settings.sqlite_path
        )
    assert (summary.matches, summary.groups) == (3, 2)
    assert summary.per_day == {"2026-11-25": 0, "2026-11-26": 0, "2026-11-27": 3}
    assert summary.top_terms == [("燃气", 2), ("煤气", 1)]
    assert summary.sources == [("test-forum", 2), ("weibo", 1)]
    assert summary.places == [("香坊区", 2), ("南岗区", 1)]
    first = summary.top_posts[0]
    assert (first.post_id, first.copies, first.snippet) == ("test-forum:1", 2, "香坊燃气泄漏了")
