"""Helpers for the operations tests and the latency benchmark: a fast crawl profile for the local
demo site and the crash-safety invariants (webhook receivers: `patrol.workflow.testing`).

`snapshot(runtime)` reads what a pass left behind; `invariant_problems(runtime, reference)` says
what breaks "every post stored exactly once, every review item exactly once, no landing batch
half-processed, the audit chain verifies" against a clean run's snapshot (empty list: all hold).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from patrol.runtime import Runtime
from patrol.workflow.audit import verify_chain
from patrol.workflow.models import AuditEntry, OutboxDelivery, OutboxEvent, ReviewItem, ReviewItemPost

#: Scrapy settings for crawling the demo site on 127.0.0.1 quickly: no politeness delays (it is
#: ours and local), small landing batches so a pass lands several (kill points need some to hit).
FAST_DEMO_CRAWL: dict[str, str | int | float] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "RETRY_BACKOFF_BASE": 0,
    "PATROL_BATCH_MAX_ITEMS": 40,
}


def scrapy_args(settings: dict[str, str | int | float]) -> list[str]:
    """The `-s NAME=VALUE` options of `patrol run` for these settings."""
    args: list[str] = []
    for name, value in settings.items():
        args += ["-s", f"{name}={value}"]
    return args


# -- invariants ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    posts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (source, native id) -> rows
    fts_rows: int = 0
    attachments: set[tuple[str, str]] = field(default_factory=set)  # (post id, category)
    items: int = 0
    life_safety_items: int = 0


def snapshot(runtime: Runtime) -> Snapshot:
    shot = Snapshot()
    conn = sqlite3.connect(f"file:{runtime.settings.sqlite_path}?mode=ro", uri=True)
    try:
        for source_id, post_id in conn.execute("SELECT source_id, id FROM posts"):
            shot.posts[(source_id, post_id.split(":", 1)[1])] += 1
        shot.fts_rows = int(conn.execute("SELECT count(*) FROM posts_fts").fetchone()[0])
    finally:
        conn.close()
    with runtime.workflow.read_session() as session:
        shot.attachments = set(
            session.execute(select(ReviewItemPost.post_id, ReviewItemPost.category)).tuples()
        )
        shot.items = int(session.scalar(select(func.count()).select_from(ReviewItem)) or 0)
        shot.life_safety_items = int(
            session.scalar(select(func.count()).select_from(ReviewItem).where(ReviewItem.life_safety)) or 0
        )
    return shot


def _batch_problems(runtime: Runtime) -> list[str]:
    problems = []
    pending = runtime.ledger.pending()
    if pending:
        problems.append(f"{len(pending)} landing batches not finished: {[b.batch_id for b in pending][:5]}")
    data_dir = runtime.settings.data_dir
    for folder in ("landing", "analysed"):
        leftovers = sorted(str(p.relative_to(data_dir)) for p in (data_dir / folder).rglob("*.tmp"))
        if leftovers:
            problems.append(f"half-written files left in {folder}/: {leftovers[:5]}")
    conn = sqlite3.connect(f"file:{runtime.settings.sqlite_path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT batch_id, landing_path, posts FROM batches").fetchall()
    finally:
        conn.close()
    for batch_id, landing_path, posts in rows:
        landing = Path(landing_path)
        analysed = data_dir / "analysed" / landing.parent.name / landing.name
        if not landing.exists() or not analysed.exists():
            problems.append(f"batch {batch_id}: landing or analysed file missing")
            continue
        with analysed.open(encoding="utf-8") as lines:
            written = sum(1 for line in lines if line.strip())
        if written != posts:
            problems.append(f"batch {batch_id}: {written} analysed posts, the ledger says {posts}")
    return problems


def _workflow_problems(runtime: Runtime) -> list[str]:
    problems = []
    with runtime.workflow.read_session() as session:
        verification = verify_chain(session)
        if not verification.ok:
            problems.append(f"audit chain broken: {[p.message for p in verification.problems][:3]}")
        created = Counter(
            session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "item.created")).all()
        )
        items = {item.id: item for item in session.scalars(select(ReviewItem)).all()}
        links = Counter(session.scalars(select(ReviewItemPost.item_id)).all())
        for item_id, item in items.items():
            if created[item_id] != 1:
                problems.append(f"item {item_id}: {created[item_id]} 'item.created' audit rows, want 1")
            if item.post_count != links[item_id]:
                problems.append(
                    f"item {item_id}: post_count {item.post_count}, {links[item_id]} posts attached"
                )
        stray = sorted(set(created) - set(items))
        if stray:
            problems.append(f"audit rows for items that do not exist: {stray[:5]}")
        pages = Counter(
            session.scalars(
                select(OutboxEvent.idempotency_key).where(OutboxEvent.topic == "item.life_safety")
            )
        )
        life_safety = {i for i, item in items.items() if item.life_safety}
        if set(k.split(":", 1)[1] for k in pages) != life_safety or any(n != 1 for n in pages.values()):
            problems.append(
                f"life-safety pages {dict(pages)} do not match life-safety items {sorted(life_safety)}"
            )
    return problems


def invariant_problems(runtime: Runtime, reference: Snapshot) -> list[str]:
    """What breaks the crash-safety promises, compared with a clean run's snapshot."""
    shot = snapshot(runtime)
    problems = []
    doubled = {k: n for k, n in shot.posts.items() if n != 1}
    if doubled:
        problems.append(f"posts stored more than once: {list(doubled)[:5]}")
    missing = sorted(set(reference.posts) - set(shot.posts))
    extra = sorted(set(shot.posts) - set(reference.posts))
    if missing or extra:
        problems.append(
            f"posts missing {missing[:5]} ({len(missing)}), unexpected {extra[:5]} ({len(extra)})"
        )
    if shot.fts_rows != sum(shot.posts.values()):
        problems.append(f"{shot.fts_rows} full-text rows for {sum(shot.posts.values())} posts")
    if shot.attachments != reference.attachments:
        lost = sorted(reference.attachments - shot.attachments)[:5]
        gained = sorted(shot.attachments - reference.attachments)[:5]
        problems.append(f"flagged (post, category) pairs differ: lost {lost}, gained {gained}")
    if shot.items != reference.items:
        problems.append(f"{shot.items} review items, the clean run has {reference.items}")
    return problems + _batch_problems(runtime) + _workflow_problems(runtime)


def undelivered(runtime: Runtime) -> int:
    with runtime.workflow.read_session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(OutboxDelivery).where(OutboxDelivery.status != "delivered")
            )
            or 0
        )
