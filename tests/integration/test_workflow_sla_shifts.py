"""SLA timers and breaches, shift handover and the return of claims at shift end; both backends.

All time comes from a ManualClock: the test moves it past each deadline instead of waiting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from patrol.thresholds import Thresholds
from patrol.workflow import items as review
from patrol.workflow import tasks
from patrol.workflow.actors import SYSTEM, Actor, Role
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import PermissionDenied, TransitionNotAllowed
from patrol.workflow.flagging import open_review_items
from patrol.workflow.models import Handover, OutboxEvent, ReviewItem, SlaBreach, VerificationTask
from patrol.workflow.policy import WorkflowPolicy, load_workflow_policy
from patrol.workflow.shifts import (
    acknowledge_handover,
    add_shift_note,
    assign_shift,
    duty_supervisor,
    run_shift_changes,
    shift_at,
)
from patrol.workflow.sla import detect_breaches
from patrol.workflow.testing import PG_SKIP_REASON, add_test_user, postgres_test_url, workflow_db
from tests.conftest import make_analysed

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# 21:05 in Shanghai: the evening shift (16:00-24:00 local, 08:00-16:00 UTC)
START = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
OLGA = Actor("olga", Role.PATROL_OFFICER)
NINA = Actor("nina", Role.PATROL_OFFICER)
OSCAR = Actor("oscar", Role.PATROL_OFFICER)
SAM = Actor("sam", Role.REVIEWER)
HEPING = Actor("heping-desk", Role.FIELD_UNIT, "xf-heping")


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowDb]:
    if request.param == "postgres" and postgres_test_url() is None:
        pytest.skip(PG_SKIP_REASON)
    with workflow_db(request.param, tmp_path) as database:
        yield database


@pytest.fixture(scope="module")
def policy() -> WorkflowPolicy:
    return load_workflow_policy()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def staffed(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> WorkflowDb:
    """Users, and a roster: olga, nina and sam (supervisor) on the evening shift; nina and oscar at night."""
    with db.session() as s:
        for name, role in (
            ("olga", "patrol_officer"),
            ("nina", "patrol_officer"),
            ("oscar", "patrol_officer"),
            ("sam", "reviewer"),
        ):
            add_test_user(s, name, role, now=clock.now(), email=f"{name}@desk.example")
        assign_shift(
            s,
            policy,
            SYSTEM,
            "2026-11-27.evening",
            [("olga", "officer"), ("nina", "officer"), ("sam", "supervisor")],
            now=clock.now(),
        )
        assign_shift(
            s, policy, SYSTEM, "2026-11-28.night", [("nina", "officer"), ("oscar", "officer")], now=clock.now()
        )
    return db


_counter = iter(range(10**6))


def new_item(
    db: WorkflowDb, clock: ManualClock, category: str = "public_hazard", jurisdiction: str = "xf-heping"
) -> str:
    post = make_analysed(f"s{next(_counter)}", "x", ["x"], scores={category: 0.9}, jurisdiction=jurisdiction)
    with db.session() as s:
        open_review_items(s, [post], Thresholds(default=0.5), max_distance=3, now=clock.now())
        return s.scalars(select(ReviewItem.id).where(ReviewItem.first_post_id == post.post.id)).one()


def breaches(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> list[tuple[str, str]]:
    with db.session() as s:
        return [(b.subject_type, b.kind) for b in detect_breaches(s, policy, now=clock.now())]


def test_task_deadlines_breach_once_each_and_page_the_duty_supervisor(
    staffed: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    db = staffed
    item_id = new_item(db, clock, "self_harm")
    with db.session() as s:
        review.claim_item(s, policy, OLGA, item_id, now=clock.now())
        task_id = review.escalate_item(s, policy, OLGA, item_id, now=clock.now()).id
    target = policy.sla.target("self_harm", "urgent")
    clock.set(START + timedelta(minutes=target.acknowledge) - timedelta(seconds=1))
    assert breaches(db, policy, clock) == []
    clock.advance(seconds=1)
    assert breaches(db, policy, clock) == [("task", "acknowledge")]
    assert breaches(db, policy, clock) == [], "a missed deadline is escalated once"
    with db.session() as s:
        tasks.accept_task(s, HEPING, task_id, now=clock.now())
    clock.set(START + timedelta(minutes=target.dispatch))
    assert breaches(db, policy, clock) == [("task", "dispatch")]
    with db.session() as s:
        tasks.start_task(s, HEPING, task_id, now=clock.now())
    clock.set(START + timedelta(minutes=target.verify))
    assert breaches(db, policy, clock) == [("task", "verify")]
    with db.read_session() as s:
        task = s.get(VerificationTask, task_id)
        assert task is not None and task.escalated_to == "sam"
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "task.sla_breached")).all()
        assert len(events) == 3 and {e.recipient_email for e in events} == {"sam@desk.example"}
        assert [json.loads(e.payload_json)["kind"] for e in events] == ["acknowledge", "dispatch", "verify"]
    # completing ends the clocks; reassigning restarts them
    with db.session() as s:
        tasks.reassign_task(s, policy, SAM, task_id, unit="dl-qunli", reason="moved", now=clock.now())
    clock.advance(minutes=target.acknowledge)
    assert breaches(db, policy, clock) == [("task", "acknowledge")]


def test_completed_task_never_breaches(staffed: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> None:
    db = staffed
    item_id = new_item(db, clock)
    with db.session() as s:
        review.claim_item(s, policy, OLGA, item_id, now=clock.now())
        task_id = review.escalate_item(s, policy, OLGA, item_id, now=clock.now()).id
        tasks.accept_task(s, HEPING, task_id, now=clock.now())
        tasks.start_task(s, HEPING, task_id, now=clock.now())
        tasks.complete_task(s, HEPING, task_id, outcome="confirmed", note=None, now=clock.now())
    clock.advance(days=3)
    assert [b for b in breaches(db, policy, clock) if b[0] == "task"] == []


def test_unacknowledged_life_safety_item_pages_the_supervisor(
    staffed: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    db = staffed
    ignored = new_item(db, clock, "violence_threat")
    seen = new_item(db, clock, "self_harm")
    clock.advance(minutes=1)
    with db.session() as s:
        review.acknowledge_item(s, NINA, seen, now=clock.now())
    clock.advance(policy.sla.life_safety_ack)
    assert breaches(db, policy, clock) == [("item", "acknowledge")]
    with db.read_session() as s:
        breach = s.scalars(select(SlaBreach)).one()
        assert (breach.subject_id, breach.escalated_to) == (ignored, "sam")
        assert s.scalars(select(OutboxEvent.topic).where(OutboxEvent.topic == "item.ack_breached")).one()


def test_shift_end_writes_the_handover_and_returns_claims_of_people_going_off_shift(
    staffed: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    db = staffed
    assert shift_at(policy.roster, clock.now()).id == "2026-11-27.evening"
    olgas, ninas, life = new_item(db, clock), new_item(db, clock), new_item(db, clock, "self_harm")
    with db.session() as s:
        review.claim_item(s, policy, OLGA, olgas, now=clock.now())
        review.claim_item(s, policy, NINA, ninas, now=clock.now())
        add_shift_note(s, policy, OLGA, "香坊万达附近燃气味，已通知燃气公司，等回复", now=clock.now())
        assert duty_supervisor(s, policy.roster, clock.now()).username == "sam"  # type: ignore[union-attr]
    with db.session() as s:
        earlier = [h.shift_id for h in run_shift_changes(s, policy, now=clock.now())]
    assert earlier == ["2026-11-26.evening", "2026-11-27.night", "2026-11-27.day"], "shifts ended in the last day"
    shift_end = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    # renewed just before the change, so only the handover (not expiry) can release them
    for item_id, who in ((olgas, OLGA), (ninas, NINA)):
        with db.session() as s:
            review.claim_item(s, policy, who, item_id, now=shift_end - timedelta(minutes=1))
    clock.set(shift_end + timedelta(seconds=30))
    with db.session() as s:
        created = run_shift_changes(s, policy, now=clock.now())
    assert [h.id for h in created] == ["ho-2026-11-27.evening"]
    with db.session() as s:
        assert run_shift_changes(s, policy, now=clock.now()) == [], "one handover per shift"
    with db.read_session() as s:
        handover = s.get(Handover, "ho-2026-11-27.evening")
        assert handover is not None and handover.next_shift_id == "2026-11-28.night"
        summary = json.loads(handover.summary_json)
        assert summary["released_claims"] == [olgas]
        assert {i["id"] for i in summary["life_safety_items"]} == {life}
        assert summary["open_items"]["total"] == 3
        assert summary["notes"][0]["text"].startswith("香坊万达")
        assert summary["outgoing"] == ["nina", "olga", "sam"] and summary["incoming"] == ["nina", "oscar"]
        assert s.get(ReviewItem, olgas).status == "new"  # type: ignore[union-attr]
        assert s.get(ReviewItem, ninas).claimed_by == "nina"  # type: ignore[union-attr]
        keys = s.scalars(select(OutboxEvent.idempotency_key).where(OutboxEvent.topic == "shift.handover")).all()
        assert "shift.handover:2026-11-27.evening" in keys
    with pytest.raises(PermissionDenied, match="incoming shift"), db.session() as s:
        acknowledge_handover(s, OLGA, "ho-2026-11-27.evening", now=clock.now())
    with db.session() as s:
        assert acknowledge_handover(s, OSCAR, "ho-2026-11-27.evening", now=clock.now()).acknowledged_by == "oscar"
    with pytest.raises(TransitionNotAllowed), db.session() as s:
        acknowledge_handover(s, NINA, "ho-2026-11-27.evening", now=clock.now())
    clock.advance(hours=1)
    breaches(db, policy, clock)
    with db.read_session() as s:
        late = s.scalars(select(SlaBreach.subject_id).where(SlaBreach.subject_type == "handover")).all()
    assert "ho-2026-11-27.evening" not in late and "ho-2026-11-27.day" in late


def test_unacknowledged_handover_is_a_breach_when_someone_should_acknowledge_it(
    staffed: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    db = staffed
    clock.set(datetime(2026, 11, 27, 16, 0, 1, tzinfo=UTC))
    with db.session() as s:
        run_shift_changes(s, policy, now=clock.now(), lookback=timedelta(hours=1))
    clock.advance(minutes=policy.roster.handover_ack_minutes - 1)
    assert ("handover", "acknowledge") not in breaches(db, policy, clock)
    clock.advance(minutes=1)
    assert ("handover", "acknowledge") in breaches(db, policy, clock)
    # the night shift has nobody rostered after it: its handover is kept, but nobody is chased for it
    clock.set(datetime(2026, 11, 28, 0, 0, 1, tzinfo=UTC))
    with db.session() as s:
        assert [h.id for h in run_shift_changes(s, policy, now=clock.now(), lookback=timedelta(hours=1))] == [
            "ho-2026-11-28.night"
        ]
    clock.advance(hours=2)
    assert ("handover", "acknowledge") not in breaches(db, policy, clock)
