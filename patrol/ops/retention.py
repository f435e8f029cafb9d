"""The retention policy (data, in `retention.yaml`) and the plan of what a run would remove.

`plan_retention` only reads; `patrol.ops.purge.apply_retention` removes what a plan lists. A
plan says, with the cut-off times it used:

- closed review items whose last activity is older than `flagged_posts_days`, with their tasks,
  evidence files and SLA records, and the posts that belong to no other item;
- posts older than `unflagged_posts_days` that belong to no review item at all;
- processed landing batches older than `landing_files_days` (with their analysed and rejected copies);
- crawl report folders older than `crawl_reports_days`;
- notifications older than `delivered_notifications_days` with no delivery still pending.

Open items and open tasks are never in a plan, whatever their age; the audit log never is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from patrol.config import DEFAULTS_DIR, Settings
from patrol.datafiles import load_yaml_model
from patrol.workflow.db import WorkflowDb
from patrol.workflow.items import TERMINAL_STATES
from patrol.workflow.models import (
    EvidenceFile,
    OutboxDelivery,
    OutboxEvent,
    ReviewItem,
    ReviewItemPost,
    VerificationTask,
)
from patrol.workflow.tasks import OPEN_TASK_STATES

DEFAULT_POLICY_FILE = DEFAULTS_DIR / "retention.yaml"
#: Folders under <data_dir>/reports that are not crawl reports (weekly analyst reports have their own life).
NOT_CRAWL_REPORTS = frozenset({"weekly"})


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    unflagged_posts_days: int = Field(gt=0, description="posts in no review item, counted from publication")
    flagged_posts_days: int = Field(
        gt=0, description="closed items, their tasks and posts, from last activity"
    )
    landing_files_days: int = Field(gt=0, description="processed landing batches, from processing")
    crawl_reports_days: int = Field(gt=0, description="crawl reports and logs")
    delivered_notifications_days: int = Field(gt=0, description="notifications with nothing left to deliver")
    audit_log: Literal["keep"] = Field("keep", description="the audit log is never purged")

    @model_validator(mode="after")
    def _flagged_kept_longer(self) -> RetentionPolicy:
        if self.flagged_posts_days < self.unflagged_posts_days:
            raise ValueError(
                f"flagged_posts_days ({self.flagged_posts_days}) must be at least unflagged_posts_days"
                f" ({self.unflagged_posts_days}): reviewed posts are kept at least as long as the rest"
            )
        return self


def policy_file(settings: Settings) -> Path:
    # Settings may grow a `retention_file` field (PATROL_RETENTION_FILE); use it when present.
    value = getattr(settings, "retention_file", None)
    return Path(value) if value else DEFAULT_POLICY_FILE


def load_retention_policy(path: Path) -> RetentionPolicy:
    return load_yaml_model(path, RetentionPolicy)


class Cutoffs(BaseModel):
    unflagged_posts: datetime
    flagged_items: datetime
    landing_files: datetime
    crawl_reports: datetime
    notifications: datetime

    @classmethod
    def of(cls, policy: RetentionPolicy, now: datetime) -> Cutoffs:
        return cls(
            unflagged_posts=now - timedelta(days=policy.unflagged_posts_days),
            flagged_items=now - timedelta(days=policy.flagged_posts_days),
            landing_files=now - timedelta(days=policy.landing_files_days),
            crawl_reports=now - timedelta(days=policy.crawl_reports_days),
            notifications=now - timedelta(days=policy.delivered_notifications_days),
        )


class LandingBatch(BaseModel):
    batch_id: str
    source_id: str
    landing_path: str


class RetentionPlan(BaseModel):
    """What a retention run removes (ids sorted, so two plans of the same state compare equal)."""

    now: datetime
    cutoffs: Cutoffs
    review_items: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    evidence_sha256: list[str] = Field(default_factory=list, description="evidence files no kept task uses")
    flagged_posts: list[str] = Field(default_factory=list, description="posts of removed items, in no other")
    unflagged_posts: list[str] = Field(default_factory=list)
    landing_batches: list[LandingBatch] = Field(default_factory=list)
    crawl_report_dirs: list[str] = Field(default_factory=list)
    notifications: list[str] = Field(default_factory=list, description="outbox event ids")

    @property
    def posts(self) -> list[str]:
        return sorted({*self.flagged_posts, *self.unflagged_posts})

    def counts(self) -> dict[str, int]:
        return {
            "review_items": len(self.review_items),
            "tasks": len(self.tasks),
            "evidence_files": len(self.evidence_sha256),
            "flagged_posts": len(self.flagged_posts),
            "unflagged_posts": len(self.unflagged_posts),
            "landing_batches": len(self.landing_batches),
            "crawl_report_dirs": len(self.crawl_report_dirs),
            "notifications": len(self.notifications),
        }


# -- planning ---------------------------------------------------------------------------------------


def _closed_items(session: Session, cutoff: datetime) -> tuple[list[str], list[str]]:
    """Closed items whose item and tasks all last changed before `cutoff`, and those tasks."""
    candidates = session.scalars(
        select(ReviewItem).where(ReviewItem.status.in_(TERMINAL_STATES), ReviewItem.updated_at < cutoff)
    ).all()
    by_id = {item.id: item for item in candidates if (item.resolved_at or item.updated_at) < cutoff}
    tasks = (
        session.scalars(select(VerificationTask).where(VerificationTask.item_id.in_(by_id))).all()
        if by_id
        else []
    )
    blocked: set[str] = set()
    for task in tasks:
        last = max(t for t in (task.updated_at, task.completed_at, task.cancelled_at) if t is not None)
        if task.status in OPEN_TASK_STATES or last >= cutoff:
            blocked.add(task.item_id)
    items = sorted(set(by_id) - blocked)
    kept = set(items)
    return items, sorted(t.id for t in tasks if t.item_id in kept)


def _post_membership(session: Session, removed_items: Iterable[str]) -> tuple[set[str], set[str]]:
    """(posts of the removed items, posts of the items that stay)."""
    removed = set(removed_items)
    of_removed: set[str] = set()
    of_kept: set[str] = set()
    for item_id, post_id in session.execute(select(ReviewItemPost.item_id, ReviewItemPost.post_id)).tuples():
        (of_removed if item_id in removed else of_kept).add(post_id)
    return of_removed, of_kept


def _evidence_only_in(session: Session, tasks: list[str]) -> list[str]:
    if not tasks:
        return []
    shas = set(session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.task_id.in_(tasks))))
    still_used = set(
        session.scalars(
            select(EvidenceFile.sha256).where(
                EvidenceFile.sha256.in_(shas), EvidenceFile.task_id.not_in(tasks)
            )
        )
    )
    return sorted(shas - still_used)


def _done_notifications(session: Session, cutoff: datetime) -> list[str]:
    pending = exists().where(
        and_(OutboxDelivery.event_id == OutboxEvent.id, OutboxDelivery.status == "pending")
    )
    return sorted(session.scalars(select(OutboxEvent.id).where(OutboxEvent.created_at < cutoff, ~pending)))


def _iso(moment: datetime) -> str:
    # The store and the ledger keep UTC ISO text; comparing text orders times only in one zone.
    return moment.astimezone(UTC).isoformat()


def _old_posts(sqlite_path: Path, cutoff: datetime) -> set[str]:
    if not sqlite_path.exists():
        return set()
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT id FROM posts WHERE published_at < ?", (_iso(cutoff),)).fetchall()
    except sqlite3.OperationalError:  # no posts table yet
        return set()
    finally:
        conn.close()
    return {row[0] for row in rows}


def _old_batches(sqlite_path: Path, cutoff: datetime) -> list[LandingBatch]:
    if not sqlite_path.exists():
        return []
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT batch_id, source_id, landing_path FROM batches"
            " WHERE flagged_at IS NOT NULL AND flagged_at < ? ORDER BY batch_id",
            (_iso(cutoff),),
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
    return [LandingBatch(batch_id=r[0], source_id=r[1], landing_path=r[2]) for r in rows]


def _old_report_dirs(reports_dir: Path, cutoff: datetime) -> list[str]:
    if not reports_dir.is_dir():
        return []
    old = []
    for folder in sorted(reports_dir.iterdir()):
        if not folder.is_dir() or folder.name in NOT_CRAWL_REPORTS:
            continue
        files = [p for p in folder.iterdir() if p.is_file()]
        if files and any(p.suffix not in (".json", ".log") for p in files):
            continue  # not a crawl report folder: leave it alone
        newest = max((p.stat().st_mtime for p in files), default=folder.stat().st_mtime)
        if newest < cutoff.timestamp():
            old.append(folder.name)
    return old


def plan_retention(
    settings: Settings, db: WorkflowDb, policy: RetentionPolicy, *, now: datetime
) -> RetentionPlan:
    cutoffs = Cutoffs.of(policy, now)
    with db.read_session() as session:
        items, tasks = _closed_items(session, cutoffs.flagged_items)
        of_removed, of_kept = _post_membership(session, items)
        evidence = _evidence_only_in(session, tasks)
        notifications = _done_notifications(session, cutoffs.notifications)
    flagged_posts = sorted(of_removed - of_kept)
    unflagged = sorted(_old_posts(settings.sqlite_path, cutoffs.unflagged_posts) - of_removed - of_kept)
    return RetentionPlan(
        now=now,
        cutoffs=cutoffs,
        review_items=items,
        tasks=tasks,
        evidence_sha256=evidence,
        flagged_posts=flagged_posts,
        unflagged_posts=unflagged,
        landing_batches=_old_batches(settings.sqlite_path, cutoffs.landing_files),
        crawl_report_dirs=_old_report_dirs(settings.reports_dir, cutoffs.crawl_reports),
        notifications=notifications,
    )
