"""Digest, spike and quiet hours, driven by a manual clock instead of waiting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from patrol.config import load_settings
from patrol.schema import AnalysedPost, Analysis
from patrol.schemes.alerts import run_scheme_alerts, spike_check
from patrol.schemes.context import MatchContext
from patrol.schemes.environment import SchemeEnvironment
from patrol.schemes.live import match_schemes
from patrol.schemes.models import Scheme, SchemeAlert
from patrol.schemes.registry import SchemeSpec, Subscriber, add_scheme
from patrol.workflow.clock import ManualClock
from patrol.workflow.models import OutboxEvent, User
from patrol.workflow.testing import PG_SKIP_REASON, isolated_postgres_url, postgres_test_url
from tests.conftest import make_post

CONTEXT = MatchContext()
START = datetime(2026, 11, 26, 0, 10, tzinfo=UTC)  # 08:10 in Harbin


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


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


_serial = iter(range(1_000_000))


def post_at(at: datetime, text: str = "燃气泄漏", *, scores: dict[str, float] | None = None) -> AnalysedPost:
    native = str(next(_serial))
    post = make_post(native, text).model_copy(update={"published_at": at})
    normalized = CONTEXT.normalize(text)
    analysis = Analysis(
        post_id=post.id,
        normalized_text=normalized,
        tokens=CONTEXT.cut(normalized),
        keywords=[],
        risk_scores=scores or {},
        simhash=(int(native) * 0x9E37_79B9_7F4A_7C15 & 0x7FFF_FFFF_FFFF_FFFF) | 1,
    )
    return AnalysedPost(post=post, analysis=analysis)


def add(env: SchemeEnvironment, clock: ManualClock, *subscribers: str, **fields: object) -> str:
    values: dict[str, object] = {
        "name": "gas",
        "purpose": "燃气泄漏跟踪",
        "owner": "li",
        "query": "燃气",
        "subscribers": [Subscriber.parse(s) for s in subscribers],
    }
    values.update(fields)
    with env.workflow.session() as session:
        return add_scheme(session, SchemeSpec.model_validate(values), actor="li", context=CONTEXT, now=clock.now()).id


def live(env: SchemeEnvironment, clock: ManualClock, *posts: AnalysedPost) -> None:
    match_schemes(env, list(posts), now=clock.now(), context=CONTEXT)


def tick(env: SchemeEnvironment, clock: ManualClock) -> dict[str, int]:
    with env.workflow.session() as session:
        report = run_scheme_alerts(session, clock.now())
    return {"released": report.released, "digests": report.digests, "spikes": report.spikes}


def events(env: SchemeEnvironment, topic: str) -> list[dict[str, object]]:
    with env.workflow.read_session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.created_at))
        return [json.loads(row.payload_json) | {"unit_id": row.unit_id} for row in rows]


# -- digest -------------------------------------------------------------------------------------


def test_hourly_digest_summarises_each_finished_hour_once(env: SchemeEnvironment, clock: ManualClock) -> None:
    add(env, clock, "unit:xf-branch", alert_mode="digest", digest_period="hourly")
    clock.advance(minutes=10)  # 08:20
    live(env, clock, post_at(clock.now()), post_at(clock.now()))
    clock.advance(minutes=45)  # 09:05
    live(env, clock, post_at(clock.now()))
    assert tick(env, clock)["digests"] == 1
    clock.advance(minutes=50)  # 09:55: the 09:00 hour is not over
    assert tick(env, clock)["digests"] == 0
    clock.advance(minutes=10)  # 10:05
    assert tick(env, clock)["digests"] == 1
    assert tick(env, clock)["digests"] == 0  # idempotent
    first, second = events(env, "scheme.digest")
    assert (first["matches"], second["matches"]) == (2, 1)
    assert first["window"] == {
        "start": "2026-11-26T00:00:00+00:00",
        "end": "2026-11-26T01:00:00+00:00",
        "period": "hourly",
    }
    assert str(first["summary"]).startswith("监测方案「gas」小时摘要 2026-11-26 08:00：2 条")
    assert first["unit_id"] == "xf-branch"


def test_daily_digest_follows_the_local_day_and_catches_up_missed_days(
    env: SchemeEnvironment, clock: ManualClock
) -> None:
    add(env, clock, "user:zhang", alert_mode="digest", digest_period="daily")
    with env.workflow.session() as session:
        session.add(
            User(username="zhang", role="analyst", email="zhang@example.org", password_hash="-", created_at=START)
        )
    live(env, clock, post_at(clock.now()))  # 26th, 08:10 local
    clock.advance(hours=16)  # 27th, 00:10 local (26th 16:10 UTC)
    live(env, clock, post_at(clock.now()))
    clock.advance(days=2)  # the scheduler was down two days
    assert tick(env, clock)["digests"] == 2  # the 26th and the 27th; the 28th had nothing
    digests = events(env, "scheme.digest")
    assert [d["window"]["start"] for d in digests] == [  # type: ignore[index]
        "2026-11-25T16:00:00+00:00",
        "2026-11-26T16:00:00+00:00",
    ]
    with env.workflow.read_session() as session:
        event = session.scalars(select(OutboxEvent)).first()
        assert event is not None and event.recipient_email == "zhang@example.org" and event.unit_id is None


# -- spike --------------------------------------------------------------------------------------


def test_spike_against_the_schemes_own_baseline(env: SchemeEnvironment, clock: ManualClock) -> None:
    scheme_id = add(env, clock, "unit:xf-branch", alert_mode="spike", spike_ratio=3.0, spike_min_count=5)
    for hour in range(0, 30, 3):  # a steady trickle: one post every three hours for 30 hours
        clock.set(START + timedelta(hours=hour, minutes=5))
        live(env, clock, post_at(clock.now()))
    clock.set(START + timedelta(hours=31, minutes=2))
    live(env, clock, *[post_at(clock.now() + timedelta(minutes=m)) for m in range(0, 12, 2)])  # six in one hour
    clock.set(START + timedelta(hours=31, minutes=40))
    assert tick(env, clock)["spikes"] == 0  # the hour is not over yet
    clock.set(START + timedelta(hours=32, minutes=1))
    with env.workflow.read_session() as session:
        check = spike_check(session, session.get_one(Scheme, scheme_id), clock.now())
    assert check is not None and check.spike and check.count == 6
    assert check.baseline_per_hour == pytest.approx(10 / 31, rel=0.01)
    assert tick(env, clock)["spikes"] == 1
    assert tick(env, clock)["spikes"] == 0
    [spike] = events(env, "scheme.spike")
    assert spike["count"] == 6 and str(spike["summary"]).startswith("监测方案「gas」声量突增")


def test_no_spike_below_the_minimum_or_without_a_days_history(env: SchemeEnvironment, clock: ManualClock) -> None:
    add(env, clock, "unit:xf-branch", alert_mode="spike", spike_min_count=5)
    clock.advance(hours=2)
    live(env, clock, *[post_at(clock.now() + timedelta(minutes=m)) for m in range(8)])
    clock.advance(hours=1)
    assert tick(env, clock)["spikes"] == 0  # eight posts, but the scheme is three hours old: no baseline
    clock.advance(days=2)
    live(env, clock, *[post_at(clock.now() - timedelta(minutes=30 - m)) for m in range(4)])
    assert tick(env, clock)["spikes"] == 0  # a baseline now, but four is below the minimum of five


# -- quiet hours --------------------------------------------------------------------------------


def test_quiet_hours_hold_alerts_until_morning_but_never_life_safety(
    env: SchemeEnvironment, clock: ManualClock
) -> None:
    add(env, clock, "unit:xf-branch,quiet=22:00-07:00", "unit:ng-branch", query="燃气 OR 不想活了")
    clock.set(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))  # 23:00 local
    live(env, clock, post_at(clock.now() - timedelta(minutes=5), "燃气泄漏"))
    clock.advance(minutes=1)
    live(env, clock, post_at(clock.now() - timedelta(minutes=4), "不想活了", scores={"self_harm": 0.9}))
    with env.workflow.read_session() as session:
        held = session.scalars(select(SchemeAlert).where(SchemeAlert.status == "held")).all()
        assert [(a.subscriber, a.life_safety) for a in held] == [("xf-branch", False)]
        assert held[0].deliver_at == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)  # 07:00 local
    # ng-branch has no quiet hours; xf-branch gets the life-safety alert at 23:01 all the same
    assert sorted(str(e["unit_id"]) for e in events(env, "scheme.match")) == ["ng-branch", "ng-branch", "xf-branch"]
    clock.set(datetime(2026, 11, 26, 22, 59, tzinfo=UTC))
    assert tick(env, clock)["released"] == 0
    clock.set(datetime(2026, 11, 26, 23, 0, tzinfo=UTC))
    assert tick(env, clock)["released"] == 1
    assert tick(env, clock)["released"] == 0
    released = events(env, "scheme.match")[-1]
    assert released["unit_id"] == "xf-branch"
    assert released["held_for_quiet_hours_until"] == "2026-11-26T23:00:00+00:00"
