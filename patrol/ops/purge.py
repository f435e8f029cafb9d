"""Carrying out a retention plan across the landing files, the post store and the workflow database.

The order makes a crash at any point harmless and the next run finish the job:

1. landing files: whole old batches are deleted (files first, then their ledger rows, so a batch
   is never re-discovered without its row); younger batches, landing and analysed copies, are
   rewritten without the removed posts, so no re-run or `patrol reindex --from landing` brings a
   removed post back. Each source's files are handled under its lock; a source a pass is working
   is left for the next run (`skipped_sources`).
2. the post store: the posts, their full-text rows and scheme matches (SQLite), and Elasticsearch
   when it mirrors the store;
3. the workflow database, in one transaction: scheme matches, SLA records, tasks (with findings
   and evidence rows), review items (with their post links), old notifications, and one audit row
   `retention.purged` saying what was removed and under which policy and cut-offs;
4. evidence files no kept task uses (old crawl report folders go with step 1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, update

from patrol.config import Settings
from patrol.ops.locks import SourceBusy, source_lock
from patrol.ops.retention import RetentionPlan, RetentionPolicy
from patrol.store.base import PostStore
from patrol.workflow.audit import record_audit
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import (
    OutboxEvent,
    ReviewItem,
    SlaBreach,
    VerificationTask,
)

log = logging.getLogger("patrol.ops.purge")

RETENTION_ACTOR = "system:retention"
_CHUNK = 500


class RetentionOutcome(BaseModel):
    plan: dict[str, int]
    removed: dict[str, int] = Field(default_factory=dict)
    rewritten_files: int = 0
    skipped_sources: list[str] = Field(default_factory=list)
    audit_seq: int | None = None


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# -- 1. landing files -------------------------------------------------------------------------------


def _companions(settings: Settings, landing: Path) -> list[Path]:
    rel = Path(landing.parent.name) / landing.name
    return [landing, settings.data_dir / "analysed" / rel, settings.data_dir / "rejected" / rel]


def _rewrite_without(path: Path, removed: set[str]) -> bool:
    """Rewrite a JSON-lines batch without the removed posts; False when none of them is in it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return False
    kept: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        post = row.get("post", row) if isinstance(row, dict) else {}
        if isinstance(post, dict) and post.get("id") in removed:
            continue
        kept.append(line)
    if len(kept) == len([line for line in lines if line.strip()]):
        return False
    tmp = path.with_name(path.name + ".retention.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in kept)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return True


def _delete_ledger_rows(sqlite_path: Path, batch_ids: Sequence[str]) -> None:
    conn = sqlite3.connect(sqlite_path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        for chunk in _chunks(batch_ids):
            conn.execute(
                f"DELETE FROM batches WHERE batch_id IN ({','.join('?' for _ in chunk)})", list(chunk)
            )
    finally:
        conn.close()


def _purge_landing(settings: Settings, plan: RetentionPlan, outcome: RetentionOutcome) -> None:
    removed_posts = set(plan.posts)
    old_by_source: dict[str, list[Path]] = {}
    for batch in plan.landing_batches:
        old_by_source.setdefault(batch.source_id, []).append(Path(batch.landing_path))
    sources = set(old_by_source)
    for root in (settings.landing_dir, settings.data_dir / "analysed"):
        if root.is_dir():
            sources.update(p.name for p in root.iterdir() if p.is_dir())
    deleted_batches: list[str] = []
    for source_id in sorted(sources):
        try:
            with source_lock(settings.data_dir, source_id, purpose="retention"):
                old = old_by_source.get(source_id, [])
                for landing in old:
                    for path in _companions(settings, landing):
                        path.unlink(missing_ok=True)
                    deleted_batches.append(f"{source_id}/{landing.name.removesuffix('.jsonl')}")
                if removed_posts:
                    for folder in (
                        settings.landing_dir / source_id,
                        settings.data_dir / "analysed" / source_id,
                    ):
                        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
                            outcome.rewritten_files += _rewrite_without(path, removed_posts)
        except SourceBusy:
            log.warning(
                "retention: source busy, its landing files are left for the next run",
                extra={"source_id": source_id},
            )
            outcome.skipped_sources.append(source_id)
    # Rows after files: a row without its file is inert, a file without its row would be processed again.
    _delete_ledger_rows(settings.sqlite_path, deleted_batches)
    outcome.removed["landing_batches"] = len(deleted_batches)


# -- 2. the post store ------------------------------------------------------------------------------


def _delete_from_store(store: PostStore, settings: Settings, post_ids: list[str]) -> int:
    if not post_ids:
        return 0
    primary: Any = getattr(store, "primary", store)
    removed = 0
    for chunk in _chunks(post_ids):
        removed += primary.delete_posts(list(chunk))
    # The SQLite store's delete_posts also removes the posts' scheme matches.
    search = getattr(store, "search_store", None)
    if search is not None:  # Elasticsearch mirrors the store: delete the same ids there
        for chunk in _chunks(post_ids):
            search.client.delete_by_query(
                index=search.names.read_alias,
                query={"ids": {"values": list(chunk)}},
                conflicts="proceed",
                refresh=True,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
    return removed


# -- 3. the workflow database -----------------------------------------------------------------------


def _purge_workflow(
    db: WorkflowDb, plan: RetentionPlan, policy: RetentionPolicy, outcome: RetentionOutcome, run_id: str
) -> None:
    from patrol.workflow.models import Base

    scheme_matches = Base.metadata.tables.get("scheme_matches")
    with db.session() as session:
        if scheme_matches is not None:
            for chunk in _chunks(plan.posts):
                session.execute(delete(scheme_matches).where(scheme_matches.c.post_id.in_(chunk)))
        subjects = [*plan.review_items, *plan.tasks]
        for chunk in _chunks(subjects):
            session.execute(delete(SlaBreach).where(SlaBreach.subject_id.in_(chunk)))
        for chunk in _chunks(plan.review_items):
            # Kept items that point at a removed one as "duplicate of" lose the pointer, not themselves.
            session.execute(
                update(ReviewItem).where(ReviewItem.duplicate_of.in_(chunk)).values(duplicate_of=None)
            )
        for chunk in _chunks(plan.tasks):
            session.execute(delete(VerificationTask).where(VerificationTask.id.in_(chunk)))
        for chunk in _chunks(plan.review_items):
            session.execute(delete(ReviewItem).where(ReviewItem.id.in_(chunk)))
        for chunk in _chunks(plan.notifications):
            session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(chunk)))
        outcome.removed.update(
            review_items=len(plan.review_items), tasks=len(plan.tasks), notifications=len(plan.notifications)
        )
        row = record_audit(
            session,
            at=plan.now,
            actor=RETENTION_ACTOR,
            action="retention.purged",
            entity_type="retention",
            entity_id=run_id,
            after={
                "policy": policy.model_dump(),
                "cutoffs": plan.cutoffs.model_dump(mode="json"),
                "planned": plan.counts(),
                "removed": outcome.removed,
                "review_items": plan.review_items,
                "tasks": plan.tasks,
                "landing_batches": [b.batch_id for b in plan.landing_batches],
                "crawl_report_dirs": plan.crawl_report_dirs,
                "skipped_sources": outcome.skipped_sources,
                # Post ids can run to millions: their count and a digest of the sorted list identify them.
                "post_ids_sha256": hashlib.sha256("\n".join(plan.posts).encode("utf-8")).hexdigest(),
            },
        )
        outcome.audit_seq = row.seq


def _purge_crawl_reports(settings: Settings, plan: RetentionPlan, outcome: RetentionOutcome) -> None:
    for name in plan.crawl_report_dirs:
        shutil.rmtree(settings.reports_dir / name, ignore_errors=True)
    outcome.removed["crawl_report_dirs"] = len(plan.crawl_report_dirs)


def _purge_evidence(settings: Settings, plan: RetentionPlan, outcome: RetentionOutcome) -> None:
    # Only after the rows are gone: a failed transaction must not leave rows whose files were deleted.
    root = settings.data_dir / "evidence"
    gone = 0
    for sha in plan.evidence_sha256:
        path = root / sha[:2] / sha
        if path.exists():
            path.unlink()
            gone += 1
    outcome.removed["evidence_files"] = gone


def apply_retention(
    settings: Settings, store: PostStore, db: WorkflowDb, plan: RetentionPlan, policy: RetentionPolicy
) -> RetentionOutcome:
    """Remove what `plan` lists; returns what was removed and the audit row that records it."""
    outcome = RetentionOutcome(plan=plan.counts())
    run_id = "retention-" + plan.now.strftime("%Y%m%dT%H%M%SZ")
    _purge_landing(settings, plan, outcome)
    _purge_crawl_reports(settings, plan, outcome)
    outcome.removed["posts"] = _delete_from_store(store, settings, plan.posts)
    _purge_workflow(db, plan, policy, outcome, run_id)
    _purge_evidence(settings, plan, outcome)
    log.info("retention run done", extra={"removed": outcome.removed, "audit_seq": outcome.audit_seq})
    return outcome
