"""Verification tasks: transitions, forbidden ones, unit visibility, findings and evidence; both backends."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from patrol.thresholds import Thresholds
from patrol.workflow import items as review
from patrol.workflow import tasks
from patrol.workflow.actors import Actor, Role
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import (
    EvidenceCorrupted,
    EvidenceRejected,
    EvidenceTooLarge,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
    WorkflowError,
)
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.flagging import open_review_items
from patrol.workflow.models import AuditEntry, EvidenceFile, ReviewItem, VerificationTask
from patrol.workflow.policy import EvidencePolicy, WorkflowPolicy, load_workflow_policy
from patrol.workflow.testing import PG_SKIP_REASON, postgres_test_url, workflow_db
from tests.conftest import BASE_TIME, make_analysed

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OLGA = Actor("olga", Role.PATROL_OFFICER)
SAM = Actor("sam", Role.REVIEWER)
HEPING = Actor("heping-desk", Role.FIELD_UNIT, "xf-heping")
QUNLI = Actor("qunli-desk", Role.FIELD_UNIT, "dl-qunli")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


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


def escalated_task(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock, category: str = "public_hazard") -> str:
    n = next(_counter)
    post = make_analysed(f"t{n}", "x", ["x"], scores={category: 0.9}, jurisdiction="xf-heping")
    with db.session() as s:
        open_review_items(s, [post], Thresholds(default=0.5), max_distance=3, now=clock.now())
        item_id = s.scalars(select(ReviewItem.id).where(ReviewItem.first_post_id == post.post.id)).one()
        review.claim_item(s, policy, OLGA, item_id, now=clock.now())
        return review.escalate_item(s, policy, OLGA, item_id, now=clock.now()).id


def _to_state(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock, state: str) -> str:
    task_id = escalated_task(db, policy, clock)
    now = clock.now()
    with db.session() as s:
        if state in ("accepted", "in_progress", "completed"):
            tasks.accept_task(s, HEPING, task_id, now=now)
        if state in ("in_progress", "completed"):
            tasks.start_task(s, HEPING, task_id, now=now)
        if state == "completed":
            tasks.complete_task(s, HEPING, task_id, outcome="confirmed", note="leak found", now=now)
        if state == "cancelled":
            tasks.cancel_task(s, SAM, task_id, reason="duplicate of a 119 call", now=now)
    return task_id


ACTIONS: dict[str, Callable[..., object]] = {
    "accept": lambda s, p, t, now: tasks.accept_task(s, HEPING, t, now=now),
    "start": lambda s, p, t, now: tasks.start_task(s, HEPING, t, now=now),
    "complete": lambda s, p, t, now: tasks.complete_task(s, HEPING, t, outcome="unfounded", note=None, now=now),
    "cancel": lambda s, p, t, now: tasks.cancel_task(s, SAM, t, reason="not needed", now=now),
    "reassign": lambda s, p, t, now: tasks.reassign_task(s, p, SAM, t, unit="ng-xuefu", reason="wrong area", now=now),
    "reopen": lambda s, p, t, now: tasks.reopen_task(s, p, SAM, t, reason="new information", now=now),
}
TNA = TransitionNotAllowed
EXPECTED: dict[str, dict[str, object]] = {
    "assigned": {
        "accept": "accepted",
        "start": TNA,
        "complete": TNA,
        "cancel": "cancelled",
        "reassign": "assigned",
        "reopen": TNA,
    },
    "accepted": {
        "accept": TNA,
        "start": "in_progress",
        "complete": TNA,
        "cancel": "cancelled",
        "reassign": "assigned",
        "reopen": TNA,
    },
    "in_progress": {
        "accept": TNA,
        "start": TNA,
        "complete": "completed",
        "cancel": "cancelled",
        "reassign": "assigned",
        "reopen": TNA,
    },
    "completed": {"accept": TNA, "start": TNA, "complete": TNA, "cancel": TNA, "reassign": TNA, "reopen": "assigned"},
    "cancelled": {"accept": TNA, "start": TNA, "complete": TNA, "cancel": TNA, "reassign": TNA, "reopen": "assigned"},
}


def test_every_task_transition_and_every_forbidden_one(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    failures = []
    for state, row in EXPECTED.items():
        for action, expected in row.items():
            task_id = _to_state(db, policy, clock, state)
            try:
                with db.session() as s:
                    ACTIONS[action](s, policy, task_id, clock.now())
                with db.read_session() as s:
                    task = s.get(VerificationTask, task_id)
                    assert task is not None
                    outcome: object = task.status
            except WorkflowError as exc:
                outcome = type(exc)
            if outcome != expected:
                failures.append(f"{state} --{action}--> {outcome}, expected {expected}")
    assert not failures, "\n".join(failures)


def test_complete_records_outcome_and_reopen_resets_it(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    task_id = _to_state(db, policy, clock, "in_progress")
    with pytest.raises(InvalidInput, match="unknown outcome"), db.session() as s:
        tasks.complete_task(s, HEPING, task_id, outcome="arrested", note=None, now=clock.now())
    with db.session() as s:
        task = tasks.complete_task(s, HEPING, task_id, outcome="referred", note="handed to 消防", now=clock.now())
        assert (task.outcome, task.completed_by) == ("referred", "heping-desk")
    clock.advance(hours=2)
    with pytest.raises(InvalidInput, match="reason"), db.session() as s:
        tasks.reopen_task(s, policy, SAM, task_id, reason=" ", now=clock.now())
    with db.session() as s:
        task = tasks.reopen_task(s, policy, SAM, task_id, reason="caller rang again", unit="dw-jingyu", now=clock.now())
        assert (task.status, task.outcome, task.unit_id, task.reopen_count) == ("assigned", None, "dw-jingyu", 1)
        assert task.assigned_at == clock.now()


def test_field_unit_sees_only_its_own_tasks(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock) -> None:
    task_id = escalated_task(db, policy, clock)
    with db.session() as s:
        assert tasks.get_task(s, HEPING, task_id, now=clock.now()).unit_id == "xf-heping"
        with pytest.raises(NotFound) as other:
            tasks.get_task(s, QUNLI, task_id, now=clock.now())
        with pytest.raises(NotFound) as missing:
            tasks.get_task(s, QUNLI, "vt-does-not-exist", now=clock.now())
        # "not yours" reads exactly like "does not exist"
        assert str(other.value).replace(task_id, "X") == str(missing.value).replace("vt-does-not-exist", "X")
        assert tasks.list_tasks(s, QUNLI)[1] == 0 and tasks.list_tasks(s, HEPING)[1] == 1
    for step in (tasks.accept_task, tasks.start_task):
        with pytest.raises(NotFound), db.session() as s:
            step(s, QUNLI, task_id, now=clock.now())
    with pytest.raises(PermissionDenied), db.session() as s:
        tasks.cancel_task(s, HEPING, task_id, reason="we are busy", now=clock.now())
    with pytest.raises(PermissionDenied), db.session() as s:
        tasks.get_task(s, Actor("ana", Role.ANALYST), task_id, now=clock.now())


def test_reassignment_restarts_the_sla_clock_and_moves_visibility(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock
) -> None:
    task_id = _to_state(db, policy, clock, "accepted")
    clock.advance(minutes=30)
    with db.session() as s:
        task = tasks.reassign_task(
            s, policy, SAM, task_id, unit="dl-qunli", reason="the address is in 群力", now=clock.now()
        )
        target = policy.sla.target("public_hazard", "high")
        assert task.ack_due_at == clock.now() + timedelta(minutes=target.acknowledge)
        assert task.accepted_at is None and task.routed_by == "override"
    with db.session() as s:
        assert tasks.get_task(s, QUNLI, task_id, now=clock.now()).status == "assigned"
        with pytest.raises(NotFound):
            tasks.get_task(s, HEPING, task_id, now=clock.now())
        reasons = [e.after_json for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "task.reassigned"))]
        assert any("群力" in (r or "") for r in reasons)


def test_findings_and_evidence_with_hash_size_and_type_limits(
    db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock, tmp_path: Path
) -> None:
    store = EvidenceStore(
        tmp_path / "evidence", EvidencePolicy(max_bytes=1000, allowed_types=["image/png", "text/plain"])
    )
    task_id = _to_state(db, policy, clock, "in_progress")
    with db.session() as s:
        tasks.add_finding(s, HEPING, task_id, text="燃气阀门已关闭，无泄漏", now=clock.now())
        evidence = tasks.add_evidence(
            s, store, HEPING, task_id, filename="../scene.png", chunks=[PNG[:5], PNG[5:]], now=clock.now()
        )
        assert evidence.sha256 == hashlib.sha256(PNG).hexdigest()
        assert (evidence.size, evidence.content_type, evidence.filename) == (len(PNG), "image/png", ".._scene.png")
    with pytest.raises(EvidenceTooLarge), db.session() as s:
        tasks.add_evidence(s, store, HEPING, task_id, filename="big.png", chunks=[PNG, b"\x00" * 1000], now=clock.now())
    # declared as a PNG, but the bytes are a Windows executable
    with pytest.raises(EvidenceRejected, match="unrecognised"), db.session() as s:
        tasks.add_evidence(
            s, store, HEPING, task_id, filename="photo.png", chunks=[b"MZ\x90\x00" + b"\x01" * 50], now=clock.now()
        )
    with pytest.raises(EvidenceRejected, match="application/pdf"), db.session() as s:
        tasks.add_evidence(s, store, HEPING, task_id, filename="a.pdf", chunks=[b"%PDF-1.7 ..."], now=clock.now())
    with db.session() as s:
        task = tasks.get_task(s, HEPING, task_id, now=clock.now())
        assert [f.text for f in task.findings] == ["燃气阀门已关闭，无泄漏"]
        assert len(task.evidence_files) == 1
        _, data = tasks.read_evidence(s, store, HEPING, task_id, evidence.id, now=clock.now())
        assert data == PNG
        with pytest.raises(NotFound):
            tasks.read_evidence(s, store, QUNLI, task_id, evidence.id, now=clock.now())
    assert not list((tmp_path / "evidence").glob(".upload-*")), "rejected uploads leave no temporary files"
    # a file altered on disk is refused, not served
    store.path_of(evidence.sha256).write_bytes(PNG + b"tampered")
    with pytest.raises(EvidenceCorrupted), db.session() as s:
        tasks.read_evidence(s, store, HEPING, task_id, evidence.id, now=clock.now())
    with db.session() as s:
        tasks.complete_task(s, HEPING, task_id, outcome="unfounded", note=None, now=clock.now())
    with pytest.raises(TransitionNotAllowed), db.session() as s:
        tasks.add_finding(s, HEPING, task_id, text="late note", now=clock.now())
    with db.read_session() as s:
        assert s.scalar(select(EvidenceFile.task_id)) == task_id
