"""Review items: every transition and every forbidden one, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patrol.thresholds import Thresholds
from patrol.workflow import items as review
from patrol.workflow.actors import Actor, Role
from patrol.workflow.audit import verify_chain
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import (
    ClaimConflict,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
    WorkflowError,
)
from patrol.workflow.flagging import open_review_items
from patrol.workflow.models import AuditEntry, OutboxDelivery, OutboxEvent, ReviewItem
from patrol.workflow.outbox import add_channel
from patrol.workflow.policy import WorkflowPolicy, load_workflow_policy
from patrol.workflow.tasks import cancel_task
from patrol.workflow.testing import PG_SKIP_REASON, postgres_test_url, workflow_db
from tests.conftest import BASE_TIME, make_analysed

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
THRESHOLDS = Thresholds(default=0.5)
OLGA = Actor("olga", Role.PATROL_OFFICER)
OSCAR = Actor("oscar", Role.PATROL_OFFICER)
SAM = Actor("sam", Role.REVIEWER)


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
    return ManualClock(BASE_TIME)


_counter = iter(range(10**6))


def new_item(
    db: WorkflowDb,
    clock: ManualClock,
    category: str = "fraud",
    score: float = 0.8,
    jurisdiction: str | None = "xf-heping",
) -> str:
    n = next(_counter)
    post = make_analysed(f"p{n}", "x", ["x"], scores={category: score}, simhash=0, jurisdiction=jurisdiction)
    with db.session() as session:
        open_review_items(session, [post], THRESHOLDS, max_distance=3, now=clock.now())
        return session.scalars(select(ReviewItem.id).where(ReviewItem.first_post_id == post.post.id)).one()


def status_of(db: WorkflowDb, item_id: str) -> str:
    with db.read_session() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        return item.status


# -- the transition matrix ------------------------------------------------------------------


def _setup_state(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock, state: str) -> str:
    item_id = new_item(db, clock)
    original = new_item(db, clock) if state == "duplicate" else ""
    now = clock.now()
    with db.session() as s:
        if state == "new":
            pass
        elif state == "claimed_by_me":
            review.claim_item(s, policy, OLGA, item_id, now=now)
        elif state == "claimed_by_other":
            review.claim_item(s, policy, OSCAR, item_id, now=now)
        elif state == "expired_mine":
            review.claim_item(s, policy, OLGA, item_id, now=now - policy.sla.claim_ttl - timedelta(seconds=1))
        elif state == "expired_other":
            review.claim_item(s, policy, OSCAR, item_id, now=now - policy.sla.claim_ttl - timedelta(seconds=1))
        elif state in ("dismissed", "duplicate", "escalated", "escalated_task_cancelled"):
            review.claim_item(s, policy, OLGA, item_id, now=now)
            if state == "dismissed":
                review.dismiss_item(s, policy, OLGA, item_id, reason="false_positive", note=None, now=now)
            elif state == "duplicate":
                review.mark_duplicate(s, OLGA, item_id, of=original, note=None, now=now)
            else:
                task = review.escalate_item(s, policy, OLGA, item_id, now=now)
                if state == "escalated_task_cancelled":
                    cancel_task(s, SAM, task.id, reason="resolved by phone", now=now)
    return item_id


def _actions(original: str) -> dict[str, Callable[..., object]]:
    return {
        "claim": lambda s, p, i, now: review.claim_item(s, p, OLGA, i, now=now),
        "release": lambda s, p, i, now: review.release_item(s, OLGA, i, now=now),
        "dismiss": lambda s, p, i, now: review.dismiss_item(s, p, OLGA, i, reason="not_actionable", note="n", now=now),
        "duplicate": lambda s, p, i, now: review.mark_duplicate(s, OLGA, i, of=original, note=None, now=now),
        "escalate": lambda s, p, i, now: review.escalate_item(s, p, OLGA, i, now=now),
        "reopen": lambda s, p, i, now: review.reopen_item(s, SAM, i, reason="wrongly dismissed", now=now),
    }


OK_NEW, OK_CLAIMED, TNA, CONFLICT = "new", "claimed", TransitionNotAllowed, ClaimConflict

EXPECTED: dict[str, dict[str, object]] = {
    "new": {"claim": OK_CLAIMED, "release": TNA, "dismiss": TNA, "duplicate": TNA, "escalate": TNA, "reopen": TNA},
    "claimed_by_me": {
        "claim": OK_CLAIMED,
        "release": OK_NEW,
        "dismiss": "dismissed",
        "duplicate": "duplicate",
        "escalate": "escalated",
        "reopen": TNA,
    },
    "claimed_by_other": {
        "claim": CONFLICT,
        "release": CONFLICT,
        "dismiss": CONFLICT,
        "duplicate": CONFLICT,
        "escalate": CONFLICT,
        "reopen": TNA,
    },
    "expired_mine": {
        "claim": OK_CLAIMED,
        "release": OK_NEW,
        "dismiss": CONFLICT,
        "duplicate": CONFLICT,
        "escalate": CONFLICT,
        "reopen": TNA,
    },
    "expired_other": {
        "claim": OK_CLAIMED,
        "release": OK_NEW,
        "dismiss": TNA,
        "duplicate": TNA,
        "escalate": TNA,
        "reopen": TNA,
    },
    "dismissed": {"claim": TNA, "release": TNA, "dismiss": TNA, "duplicate": TNA, "escalate": TNA, "reopen": OK_NEW},
    "duplicate": {"claim": TNA, "release": TNA, "dismiss": TNA, "duplicate": TNA, "escalate": TNA, "reopen": OK_NEW},
    "escalated": {"claim": TNA, "release": TNA, "dismiss": TNA, "duplicate": TNA, "escalate": TNA, "reopen": TNA},
    "escalated_task_cancelled": {
        "claim": TNA,
        "release": TNA,
        "dismiss": TNA,
        "duplicate": TNA,
        "escalate": TNA,
        "reopen": OK_NEW,
    },
}


def test_every_item_transition_and_every_forbidden_one(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    actions = _actions(original=new_item(db, clock))
    failures = []
    for state, row in EXPECTED.items():
        for action, expected in row.items():
            item_id = _setup_state(db, policy, clock, state)
            with db.read_session() as s:
                audit_before = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
            try:
                with db.session() as s:
                    actions[action](s, policy, item_id, clock.now())
                outcome: object = status_of(db, item_id)
            except WorkflowError as exc:
                outcome = type(exc)
            if outcome != expected:
                failures.append(f"{state} --{action}--> {outcome}, expected {expected}")
            with db.read_session() as s:
                audit_after = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
            refused = isinstance(expected, type)
            if refused and audit_after != audit_before:
                failures.append(f"{state} --{action}--> refused but wrote {audit_after - audit_before} audit rows")
            if not refused and audit_after == audit_before:
                failures.append(f"{state} --{action}--> changed the item without an audit row")
    assert not failures, "\n".join(failures)
    with db.read_session() as s:
        assert verify_chain(s).ok


# -- details of the decisions ---------------------------------------------------------------


def test_dismiss_needs_a_known_reason_and_a_note_where_the_reason_says_so(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    item_id = new_item(db, clock)
    with db.session() as s:
        review.claim_item(s, policy, OLGA, item_id, now=clock.now())
    with pytest.raises(InvalidInput, match="unknown dismiss reason"), db.session() as s:
        review.dismiss_item(s, policy, OLGA, item_id, reason="politics", note=None, now=clock.now())
    with pytest.raises(InvalidInput, match="needs a note"), db.session() as s:
        review.dismiss_item(s, policy, OLGA, item_id, reason="out_of_jurisdiction", note="  ", now=clock.now())
    with db.session() as s:
        item = review.dismiss_item(
            s, policy, OLGA, item_id, reason="out_of_jurisdiction", note="南岗区的", now=clock.now()
        )
        assert (item.dismiss_reason, item.resolution_note, item.resolved_by) == (
            "out_of_jurisdiction",
            "南岗区的",
            "olga",
        )
        assert item.claimed_by is None


def test_duplicate_points_at_the_root_original_and_never_at_itself(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    root, middle, last = new_item(db, clock), new_item(db, clock), new_item(db, clock)
    now = clock.now()
    with db.session() as s:
        review.claim_item(s, policy, OLGA, middle, now=now)
        review.mark_duplicate(s, OLGA, middle, of=root, note=None, now=now)
        review.claim_item(s, policy, OLGA, last, now=now)
        assert review.mark_duplicate(s, OLGA, last, of=middle, note=None, now=now).duplicate_of == root
    with db.session() as s:
        review.claim_item(s, policy, OLGA, root, now=now)
    with pytest.raises(InvalidInput, match="itself"), db.session() as s:
        review.mark_duplicate(s, OLGA, root, of=last, note=None, now=now)


def test_escalation_routes_by_jurisdiction_or_override_and_refuses_unroutable(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    routed, overridden, nowhere = new_item(db, clock), new_item(db, clock), new_item(db, clock, jurisdiction=None)
    now = clock.now()
    with db.session() as s:
        for item_id in (routed, overridden, nowhere):
            review.claim_item(s, policy, OLGA, item_id, now=now)
        task = review.escalate_item(s, policy, OLGA, routed, now=now)
        assert (task.unit_id, task.routed_by, task.priority) == ("xf-heping", "jurisdiction", "normal")
        assert task.ack_due_at == now + timedelta(minutes=60)
        task = review.escalate_item(s, policy, OLGA, overridden, unit="dl-qunli", priority="urgent", now=now)
        assert (task.unit_id, task.routed_by, task.priority) == ("dl-qunli", "override", "urgent")
    with pytest.raises(InvalidInput, match="choose a unit"), db.session() as s:
        review.escalate_item(s, policy, OLGA, nowhere, now=now)
    with pytest.raises(InvalidInput, match="unknown unit"), db.session() as s:
        review.escalate_item(s, policy, OLGA, nowhere, unit="mars-station", now=now)
    assert status_of(db, nowhere) == "claimed"


def test_roles_without_triage_rights_are_refused(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> None:
    item_id = new_item(db, clock)
    for actor in (Actor("unit", Role.FIELD_UNIT, "xf-heping"), Actor("ana", Role.ANALYST)):
        with pytest.raises(PermissionDenied), db.session() as s:
            review.claim_item(s, policy, actor, item_id, now=clock.now())
    with pytest.raises(PermissionDenied), db.session() as s:
        review.reopen_item(s, OLGA, item_id, reason="x", now=clock.now())


def test_supervisor_may_release_someone_elses_claim(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> None:
    item_id = new_item(db, clock)
    with db.session() as s:
        review.claim_item(s, policy, OSCAR, item_id, now=clock.now())
    with db.session() as s:
        assert review.release_item(s, SAM, item_id, now=clock.now()).status == "new"


# -- the queue --------------------------------------------------------------------------------


def test_claim_next_serves_life_safety_first_then_score(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    low = new_item(db, clock, "fraud", 0.6)
    high = new_item(db, clock, "drugs", 0.95)
    life = new_item(db, clock, "self_harm", 0.5)
    with db.session() as s:
        order = [review.claim_next(s, policy, OLGA, now=clock.now()) for _ in range(4)]
    assert [i.id if i else None for i in order] == [life, high, low, None]
    with db.read_session() as s:
        page, total = review.list_queue(s, OLGA, now=clock.now(), where=review.QueueFilter(claimed_by="olga"))
    assert total == 3 and [i.id for i in page] == [life, high, low]


def test_lapsed_claims_go_back_to_the_queue(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> None:
    item_id = new_item(db, clock)
    with db.session() as s:
        review.claim_item(s, policy, OLGA, item_id, now=clock.now())
    clock.advance(policy.sla.claim_ttl - timedelta(seconds=1))
    with db.session() as s:
        assert review.expire_claims(s, OLGA, now=clock.now()) == 0
        assert review.claim_next(s, policy, OSCAR, now=clock.now()) is None
    clock.advance(seconds=1)
    with db.session() as s:
        assert review.expire_claims(s, OLGA, now=clock.now()) == 1
    assert status_of(db, item_id) == "new"
    with db.read_session() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == item_id)).all()
    assert actions[-1] == "item.claim_expired"


def test_bulk_dismiss_reports_each_item(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> None:
    spam = [new_item(db, clock, "gambling", 0.9) for _ in range(3)]
    held = new_item(db, clock, "gambling", 0.9)
    with db.session() as s:
        review.claim_item(s, policy, OSCAR, held, now=clock.now())
    with db.session() as s:
        outcomes = review.bulk_action(
            s, policy, OLGA, [*spam, held, "ri-missing"], action="dismiss", reason="false_positive", now=clock.now()
        )
    by_id = {o.item_id: o for o in outcomes}
    assert all(by_id[i].ok and by_id[i].status == "dismissed" for i in spam)
    assert not by_id[held].ok and by_id[held].code == "claim_conflict"
    assert not by_id["ri-missing"].ok and by_id["ri-missing"].code == "not_found"
    assert status_of(db, held) == "claimed"


def test_life_safety_item_pages_at_once_and_claiming_acknowledges(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    with db.session() as s:
        add_channel(
            s,
            name="desk pager",
            kind="webhook",
            topics=["item.*"],
            at=clock.now(),
            config={"url": "http://127.0.0.1:9/hook", "secret": "s" * 20},
        )
    item_id = new_item(db, clock, "violence_threat", 0.7)
    with db.read_session() as s:
        item = s.get(ReviewItem, item_id)
        assert item is not None and item.life_safety
        assert item.ack_due_at == clock.now() + policy.sla.life_safety_ack
        event = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "item.life_safety")).one()
        assert item_id in event.payload_json
        assert s.scalar(select(func.count()).select_from(OutboxDelivery)) == 1
    clock.advance(minutes=1)
    with db.session() as s:
        item = review.claim_item(s, policy, OLGA, item_id, now=clock.now())
        assert (item.acknowledged_by, item.acknowledged_at) == ("olga", clock.now())
