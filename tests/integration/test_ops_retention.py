"""Retention across the post store, the workflow database and the landing files, recorded in the audit
log; open items and the audit log are never touched, and a dry run changes nothing."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from patrol.commands.ops import app
from patrol.config import load_settings
from patrol.ledger import batch_id_of
from patrol.ops.purge import apply_retention
from patrol.ops.retention import load_retention_policy, plan_retention
from patrol.runtime import Runtime
from patrol.schema import AnalysedPost, utcnow
from patrol.schemes.post_index import SchemePostIndex
from patrol.workflow.audit import verify_chain
from patrol.workflow.models import (
    AuditEntry,
    EvidenceFile,
    OutboxDelivery,
    OutboxEvent,
    ReviewItem,
    ReviewItemPost,
    SlaBreach,
    TaskFinding,
    VerificationTask,
)
from patrol.workflow.outbox import add_channel
from patrol.workflow.testing import PG_SKIP_REASON, isolated_postgres_url, postgres_test_url
from tests.conftest import make_analysed

POLICY = """
version: 1
unflagged_posts_days: 30
flagged_posts_days: 90
landing_files_days: 7
crawl_reports_days: 7
delivered_notifications_days: 7
audit_log: keep
"""


@dataclass
class World:
    runtime: Runtime
    policy_file: Path
    now: datetime
    posts: dict[str, AnalysedPost]


def _post(name: str, days_old: float, now: datetime) -> AnalysedPost:
    item = make_analysed(name, f"帖子{name} 内容", [f"帖子{name}", "内容"], author=f"作者{name}")
    post = item.post.model_copy(update={"published_at": now - timedelta(days=days_old), "fetched_at": now})
    return item.model_copy(update={"post": post})


def _item(
    item_id: str, status: str, *, days_idle: float, now: datetime, posts: list[str], category: str = "fraud"
) -> list[object]:
    when = now - timedelta(days=days_idle)
    rows: list[object] = [
        ReviewItem(
            id=item_id,
            category=category,
            status=status,
            life_safety=False,
            max_score=0.9,
            first_post_id=posts[0],
            source_id="test-forum",
            jurisdiction=None,
            post_count=len(posts),
            created_at=when - timedelta(days=1),
            updated_at=when,
            resolved_at=when if status != "new" else None,
        )
    ]
    rows += [
        ReviewItemPost(
            item_id=item_id,
            post_id=p,
            category=category,
            source_id="test-forum",
            score=0.9,
            simhash=0,
            evidence_json="[]",
            scorer="test",
            added_at=when,
        )
        for p in posts
    ]
    return rows


def _task(task_id: str, item_id: str, status: str, *, days_idle: float, now: datetime) -> VerificationTask:
    when = now - timedelta(days=days_idle)
    return VerificationTask(
        id=task_id,
        item_id=item_id,
        category="fraud",
        unit_id="xf-heping",
        routed_by="override",
        priority="normal",
        status=status,
        created_by="li.sup",
        created_at=when,
        updated_at=when,
        assigned_at=when,
        ack_due_at=when,
        dispatch_due_at=when,
        verify_due_at=when,
        completed_at=when if status == "completed" else None,
        reopen_count=0,
    )


def _write_batch(runtime: Runtime, name: str, posts: list[AnalysedPost], processed_days_ago: float) -> Path:
    data = runtime.settings.data_dir
    landing = data / "landing" / "test-forum" / f"{name}.jsonl"
    analysed = data / "analysed" / "test-forum" / f"{name}.jsonl"
    for path, lines in (
        (landing, [p.post.model_dump_json() for p in posts]),
        (analysed, [p.model_dump_json() for p in posts]),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    runtime.ledger.register(landing)
    for stage in ("analysed", "indexed", "flagged"):
        runtime.ledger.mark(batch_id_of(landing), stage, posts=len(posts))
    stamp = (utcnow() - timedelta(days=processed_days_ago)).isoformat()
    conn = sqlite3.connect(runtime.settings.sqlite_path)
    with conn:
        conn.execute("UPDATE batches SET flagged_at = ? WHERE batch_id = ?", (stamp, batch_id_of(landing)))
    conn.close()
    return landing


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def workflow_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """The workflow database: the SQLite file beside the posts, or a fresh schema on PostgreSQL."""
    if request.param == "sqlite":
        yield None
        return
    base = postgres_test_url()
    if base is None:
        pytest.skip(PG_SKIP_REASON)
    with isolated_postgres_url(base) as url:
        yield url


@pytest.fixture
def world(tmp_path: Path, workflow_url: str | None) -> Iterator[World]:
    now = utcnow()
    runtime = Runtime(load_settings(data_dir=tmp_path / "data", database_url=workflow_url))
    policy_file = tmp_path / "retention.yaml"
    policy_file.write_text(POLICY, encoding="utf-8")
    ages = {
        "u-old": 40,
        "u-new": 10,  # never flagged
        "a-old": 120,
        "b-open": 200,
        "c-recent": 60,
        "d-task-done": 150,
        "e-task-open": 150,
        "shared": 150,
    }
    posts = {name: _post(name, days, now) for name, days in ages.items()}
    runtime.store.upsert(list(posts.values()))
    pid = {name: p.post.id for name, p in posts.items()}
    with runtime.workflow.session() as session:
        for row in [
            *_item("ri-a", "dismissed", days_idle=100, now=now, posts=[pid["a-old"], pid["shared"]]),
            *_item("ri-b", "new", days_idle=200, now=now, posts=[pid["b-open"]]),
            *_item("ri-c", "dismissed", days_idle=20, now=now, posts=[pid["c-recent"]]),
            *_item("ri-d", "escalated", days_idle=100, now=now, posts=[pid["d-task-done"]]),
            *_item("ri-e", "escalated", days_idle=100, now=now, posts=[pid["e-task-open"]]),
            *_item("ri-shared", "new", days_idle=5, now=now, posts=[pid["shared"]], category="drugs"),
        ]:
            session.add(row)
        session.flush()
        session.add_all(
            [
                _task("task-d", "ri-d", "completed", days_idle=95, now=now),
                _task("task-e", "ri-e", "in_progress", days_idle=95, now=now),
            ]
        )
        session.flush()
        for task_id, sha in (("task-d", "a" * 64), ("task-d", "b" * 64), ("task-e", "b" * 64)):
            session.add(
                EvidenceFile(
                    id=f"ev-{task_id}-{sha[0]}",
                    task_id=task_id,
                    filename="photo.jpg",
                    content_type="image/jpeg",
                    size=3,
                    sha256=sha,
                    uploaded_by="unit",
                    uploaded_at=now - timedelta(days=96),
                )
            )
        session.add(TaskFinding(id="tf-d", task_id="task-d", author="unit", text="已核实", created_at=now))
        session.add(
            SlaBreach(
                subject_type="task",
                subject_id="task-d",
                kind="verify",
                due_at=now - timedelta(days=99),
                detected_at=now - timedelta(days=99),
            )
        )
        channel = add_channel(
            session,
            name="pager",
            kind="webhook",
            topics=["*"],
            at=now - timedelta(days=40),
            config={"url": "http://127.0.0.1:9/hook", "secret": "retention-test-secret"},
        )
        for event_id, days, status in (
            ("ev-old-done", 30, "delivered"),
            ("ev-old-pending", 30, "pending"),
            ("ev-new-done", 1, "delivered"),
        ):
            session.add(
                OutboxEvent(
                    id=event_id,
                    idempotency_key=event_id,
                    topic="task.completed",
                    payload_json="{}",
                    created_at=now - timedelta(days=days),
                )
            )
            session.flush()
            session.add(
                OutboxDelivery(
                    event_id=event_id,
                    channel_id=channel.id,
                    status=status,
                    attempts=1,
                    next_attempt_at=now - timedelta(days=days),
                )
            )
    for sha in ("a" * 64, "b" * 64):
        blob = runtime.settings.data_dir / "evidence" / sha[:2] / sha
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(b"jpg")
    scheme_index = SchemePostIndex(runtime.settings.sqlite_path)
    scheme_index.close()
    conn = sqlite3.connect(runtime.settings.sqlite_path)
    with conn:
        conn.execute(
            "INSERT INTO post_scheme_matches (scheme_id, post_id, matched_at) VALUES ('s1', ?, ?)",
            (pid["u-old"], now.isoformat()),
        )
    conn.close()
    _write_batch(runtime, "p1-0001", [posts["u-old"], posts["u-new"]], processed_days_ago=10)
    _write_batch(runtime, "p2-0001", [posts["u-old"], posts["b-open"], posts["a-old"]], processed_days_ago=1)
    for name, days in (("20260101T000000Z-aaaaaa", 10), ("20260301T000000Z-bbbbbb", 1)):
        folder = runtime.settings.reports_dir / name
        folder.mkdir(parents=True)
        for suffix in (".json", ".log"):
            (folder / f"test-forum{suffix}").write_text("{}", encoding="utf-8")
            os.utime(folder / f"test-forum{suffix}", (now.timestamp() - days * 86400,) * 2)
    weekly = runtime.settings.reports_dir / "weekly" / "2025-W01"
    weekly.mkdir(parents=True)
    (weekly / "report.html").write_text("<html></html>", encoding="utf-8")
    os.utime(weekly / "report.html", (now.timestamp() - 400 * 86400,) * 2)
    yield World(runtime, policy_file, now, posts)
    runtime.close()


def _ids(world: World, *names: str) -> list[str]:
    return sorted(world.posts[n].post.id for n in names)


def test_plan_removes_only_what_the_policy_says(world: World) -> None:
    policy = load_retention_policy(world.policy_file)
    plan = plan_retention(world.runtime.settings, world.runtime.workflow, policy, now=world.now)
    assert plan.review_items == [
        "ri-a",
        "ri-d",
    ]  # closed and idle; not open ri-b, recent ri-c, ri-e's open task
    assert plan.tasks == ["task-d"]
    assert plan.evidence_sha256 == ["a" * 64]  # "b" is also evidence of the open task-e
    assert plan.flagged_posts == _ids(world, "a-old", "d-task-done")  # "shared" stays with ri-shared
    assert plan.unflagged_posts == _ids(world, "u-old")
    assert [b.batch_id for b in plan.landing_batches] == ["test-forum/p1-0001"]
    assert plan.crawl_report_dirs == ["20260101T000000Z-aaaaaa"]
    assert plan.notifications == ["ev-old-done"]


def test_dry_run_changes_nothing(
    world: World, workflow_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if workflow_url is not None:
        monkeypatch.setenv("PATROL_DATABASE_URL", workflow_url)
    runner = CliRunner()
    args = ["retention", "run", "--dry-run", "--json", "--policy", str(world.policy_file)]
    result = runner.invoke(app, [*args, "--data-dir", str(world.runtime.settings.data_dir)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["dry_run"] is True
    assert payload["would_remove"]["unflagged_posts"] == 1 and payload["would_remove"]["review_items"] == 2
    assert world.runtime.store.count() == len(world.posts)
    with world.runtime.workflow.read_session() as session:
        assert session.scalar(select(func.count()).select_from(ReviewItem)) == 6
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert (world.runtime.settings.landing_dir / "test-forum" / "p1-0001.jsonl").exists()


def test_run_purges_every_store_consistently_and_is_audited(world: World) -> None:
    runtime, settings = world.runtime, world.runtime.settings
    policy = load_retention_policy(world.policy_file)
    plan = plan_retention(settings, runtime.workflow, policy, now=world.now)
    outcome = apply_retention(settings, runtime.store, runtime.workflow, plan, policy)
    removed = set(_ids(world, "u-old", "a-old", "d-task-done"))
    kept = set(_ids(world, "u-new", "b-open", "c-recent", "e-task-open", "shared"))
    # post store: rows, full-text rows, scheme matches
    assert {
        p for p in (world.posts[n].post.id for n in world.posts) if runtime.store.get(p) is not None
    } == kept
    assert runtime.store.search("内容").total == len(kept)
    conn = sqlite3.connect(settings.sqlite_path)
    assert conn.execute("SELECT count(*) FROM post_scheme_matches").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM posts_fts").fetchone()[0] == len(kept)
    conn.close()
    # landing: the old batch is gone with its ledger row; the younger one lost only the removed posts
    assert not (settings.landing_dir / "test-forum" / "p1-0001.jsonl").exists()
    assert not (settings.data_dir / "analysed" / "test-forum" / "p1-0001.jsonl").exists()
    assert (
        runtime.ledger.get("test-forum/p1-0001") is None
        and runtime.ledger.get("test-forum/p2-0001") is not None
    )
    for folder in ("landing", "analysed"):
        text = (settings.data_dir / folder / "test-forum" / "p2-0001.jsonl").read_text(encoding="utf-8")
        ids = {json.loads(line).get("id") or json.loads(line)["post"]["id"] for line in text.splitlines()}
        assert ids == set(_ids(world, "b-open"))
    assert outcome.rewritten_files == 2
    assert not list(settings.data_dir.rglob("*.tmp"))
    # workflow: closed items with their tasks, findings, evidence, SLA records; old finished notifications
    with runtime.workflow.read_session() as session:
        assert sorted(session.scalars(select(ReviewItem.id))) == ["ri-b", "ri-c", "ri-e", "ri-shared"]
        assert sorted(session.scalars(select(VerificationTask.id))) == ["task-e"]
        assert session.scalars(select(TaskFinding.id)).all() == []
        assert sorted(session.scalars(select(EvidenceFile.sha256))) == ["b" * 64]
        assert session.scalars(select(SlaBreach.id)).all() == []
        assert sorted(session.scalars(select(OutboxEvent.id))) == ["ev-new-done", "ev-old-pending"]
        assert {p for p in session.scalars(select(ReviewItemPost.post_id))} & removed == set()
        # the audit log says what was removed, and still verifies
        rows = session.scalars(select(AuditEntry)).all()
        assert [(r.action, r.actor) for r in rows] == [("retention.purged", "system:retention")]
        record = json.loads(rows[0].after_json or "{}")
        assert record["review_items"] == ["ri-a", "ri-d"] and record["tasks"] == ["task-d"]
        assert record["planned"]["unflagged_posts"] == 1 and record["planned"]["flagged_posts"] == 2
        assert record["policy"]["audit_log"] == "keep" and record["removed"]["posts"] == 3
        assert verify_chain(session).ok
    assert outcome.audit_seq == rows[0].seq
    evidence = settings.data_dir / "evidence"
    assert not (evidence / "aa" / ("a" * 64)).exists() and (evidence / "bb" / ("b" * 64)).exists()
    assert sorted(p.name for p in settings.reports_dir.iterdir()) == ["20260301T000000Z-bbbbbb", "weekly"]
    # a second run finds nothing left to remove
    again = plan_retention(settings, runtime.workflow, policy, now=world.now)
    assert set(again.counts().values()) == {0}
