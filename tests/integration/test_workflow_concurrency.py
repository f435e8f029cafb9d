"""Two reviewers never get the same item: many threads claiming at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from patrol.workflow import items as review
from patrol.workflow.actors import Actor, Role
from patrol.workflow.audit import verify_chain
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import ClaimConflict
from patrol.workflow.models import ReviewItem
from patrol.workflow.policy import WorkflowPolicy, load_workflow_policy
from patrol.workflow.testing import PG_SKIP_REASON, postgres_test_url, seed_review_items, workflow_db
from tests.conftest import BASE_TIME

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
THREADS = 16
ITEMS = 120


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowDb]:
    if request.param == "postgres" and postgres_test_url() is None:
        pytest.skip(PG_SKIP_REASON)
    with workflow_db(request.param, tmp_path) as database:
        yield database


@pytest.fixture(scope="module")
def policy() -> WorkflowPolicy:
    return load_workflow_policy()


def _run_together(workers: list[threading.Thread]) -> None:
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert not worker.is_alive(), "a reviewer thread hung"


def test_many_reviewers_draining_the_queue_never_share_an_item(db: WorkflowDb, policy: WorkflowPolicy) -> None:
    clock = ManualClock(BASE_TIME)
    with db.session() as session:
        seed_review_items(session, ITEMS, now=clock.now())
    got: dict[str, list[str]] = {f"officer{n:02d}": [] for n in range(THREADS)}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def reviewer(name: str) -> None:
        actor = Actor(name, Role.PATROL_OFFICER)
        start.wait()
        try:
            while True:
                with db.session() as session:
                    item = review.claim_next(session, policy, actor, now=clock.now())
                    if item is None:
                        return
                    got[name].append(item.id)
        except BaseException as exc:  # surfaced below, with the thread's name
            errors.append(exc)

    _run_together([threading.Thread(target=reviewer, args=(name,)) for name in got])
    assert not errors, errors
    claimed = [item_id for ids in got.values() for item_id in ids]
    doubled = [item_id for item_id, n in Counter(claimed).items() if n > 1]
    assert not doubled, f"items handed to two reviewers: {doubled}"
    assert len(claimed) == ITEMS
    assert sum(1 for ids in got.values() if ids) > 1, "the work was shared out"
    with db.read_session() as session:
        holders = dict(session.execute(select(ReviewItem.id, ReviewItem.claimed_by)).tuples().all())
        assert all(holders[item_id] == name for name, ids in got.items() for item_id in ids)
        report = verify_chain(session)
    assert report.ok and report.rows == ITEMS  # one audit row per claim (seeding bypasses the log)


def test_racing_for_one_item_exactly_one_reviewer_wins(db: WorkflowDb, policy: WorkflowPolicy) -> None:
    clock = ManualClock(BASE_TIME)
    with db.session() as session:
        (item_id,) = seed_review_items(session, 1, now=clock.now())
    outcomes: dict[str, str] = {}
    start = threading.Barrier(THREADS)

    def reviewer(name: str) -> None:
        actor = Actor(name, Role.PATROL_OFFICER)
        start.wait()
        try:
            with db.session() as session:
                review.claim_item(session, policy, actor, item_id, now=clock.now())
            outcomes[name] = "won"
        except ClaimConflict:
            outcomes[name] = "conflict"

    _run_together([threading.Thread(target=reviewer, args=(f"r{n}",)) for n in range(THREADS)])
    assert sorted(outcomes.values()) == ["conflict"] * (THREADS - 1) + ["won"]
    winner = next(name for name, result in outcomes.items() if result == "won")
    with db.read_session() as session:
        assert session.get(ReviewItem, item_id).claimed_by == winner  # type: ignore[union-attr]
