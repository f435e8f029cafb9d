"""The flag stage: risky posts become review items, one per near-duplicate group and category.

Idempotent by construction: a (post, category) pair is attached at most once (unique constraint),
and an item's id derives from the first post of its group, so re-running a pass, or two schedulers
racing over the same batch, never doubles an item.

A new life-safety item (violence_threat, self_harm) starts its acknowledgement timer and pages the
duty officer through the outbox in the same transaction; every new item and attached copy is
written to the audit log.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patrol.schema import LIFE_SAFETY_CATEGORIES, AnalysedPost, utcnow
from patrol.thresholds import Thresholds
from patrol.workflow.audit import record_audit
from patrol.workflow.models import ReviewItem, ReviewItemPost
from patrol.workflow.outbox import enqueue_notification
from patrol.workflow.policy import SlaPolicy, WorkflowFiles

FLAG_STAGE_ACTOR = "system:flag-stage"


@cache
def _default_sla() -> SlaPolicy:
    from patrol.datafiles import load_yaml_model

    return load_yaml_model(WorkflowFiles().sla, SlaPolicy)


class FlagReport(BaseModel):
    new_items: int = 0
    attached_copies: int = 0
    already_flagged: int = 0
    new_items_by_category: dict[str, int] = Field(default_factory=dict)


def review_item_id(category: str, first_post_id: str) -> str:
    return "ri-" + hashlib.sha1(f"{category}\x00{first_post_id}".encode()).hexdigest()[:20]


def _hamming(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


class _GroupIndex:
    """SimHashes of the posts already in review items, per category, to find an item's near-copies."""

    def __init__(self, session: Session, categories: set[str]) -> None:
        self._by_category: dict[str, list[tuple[int, str]]] = defaultdict(list)
        if categories:
            rows = session.execute(
                select(ReviewItemPost.category, ReviewItemPost.simhash, ReviewItemPost.item_id).where(
                    ReviewItemPost.category.in_(categories)
                )
            )
            for category, simhash, item_id in rows:
                self._by_category[category].append((simhash, item_id))

    def find(self, category: str, simhash: int, max_distance: int) -> str | None:
        if simhash == 0:  # no fingerprint (empty text): never group by accident
            return None
        for other, item_id in self._by_category[category]:
            if _hamming(simhash, other) <= max_distance:
                return item_id
        return None

    def add(self, category: str, simhash: int, item_id: str) -> None:
        self._by_category[category].append((simhash, item_id))


def open_review_items(
    session: Session,
    analysed: Sequence[AnalysedPost],
    thresholds: Thresholds,
    *,
    max_distance: int,
    now: datetime | None = None,
    sla: SlaPolicy | None = None,
) -> FlagReport:
    now = now or utcnow()
    sla = sla or _default_sla()
    report = FlagReport()
    candidates = [(a, c) for a in analysed for c in thresholds.flagged(a.analysis.risk_scores)]
    if not candidates:
        return report
    post_ids = {a.post.id for a, _ in candidates}
    existing = set(
        session.execute(
            select(ReviewItemPost.post_id, ReviewItemPost.category).where(ReviewItemPost.post_id.in_(post_ids))
        ).tuples()
    )
    groups = _GroupIndex(session, {c for _, c in candidates})
    new_by_category: Counter[str] = Counter()
    audit: list[tuple[str, str, dict[str, Any]]] = []
    # Oldest first, so a group's item is named after its earliest post whatever order copies arrive in.
    for item, category in sorted(candidates, key=lambda ac: (ac[0].post.published_at, ac[0].post.id)):
        post, analysis = item.post, item.analysis
        if (post.id, category) in existing:
            report.already_flagged += 1
            continue
        score = analysis.risk_scores[category]
        item_id = groups.find(category, analysis.simhash, max_distance)
        if item_id is None:
            item_id = review_item_id(category, post.id)
            life_safety = category in LIFE_SAFETY_CATEGORIES
            new_item = ReviewItem(
                id=item_id,
                category=category,
                status="new",
                life_safety=life_safety,
                max_score=score,
                first_post_id=post.id,
                source_id=post.source_id,
                jurisdiction=analysis.jurisdiction or post.jurisdiction_hint,
                post_count=0,
                created_at=now,
                updated_at=now,
                ack_due_at=now + sla.life_safety_ack if life_safety else None,
            )
            session.add(new_item)
            session.flush()
            _page_if_life_safety(session, new_item, score, now)
            audit.append(("item.created", item_id, _created_state(new_item, score)))
            report.new_items += 1
            new_by_category[category] += 1
        else:
            report.attached_copies += 1
            audit.append(("item.post_attached", item_id, {"post_id": post.id, "score": score}))
        review_item = session.get(ReviewItem, item_id)
        assert review_item is not None
        review_item.post_count += 1
        review_item.max_score = max(review_item.max_score, score)
        review_item.updated_at = now
        evidence = [e.model_dump() for e in analysis.evidence if e.category == category]
        session.add(
            ReviewItemPost(
                item_id=item_id,
                post_id=post.id,
                category=category,
                source_id=post.source_id,
                score=score,
                simhash=analysis.simhash,
                evidence_json=json.dumps(evidence, ensure_ascii=False),
                scorer=analysis.scorer,
                added_at=now,
            )
        )
        existing.add((post.id, category))
        groups.add(category, analysis.simhash, item_id)
    # Written last: appending takes the audit chain's lock until commit, and a long batch must not
    # hold up the desk's claims and decisions meanwhile.
    for action, item_id, after in audit:
        record_audit(
            session,
            at=now,
            actor=FLAG_STAGE_ACTOR,
            action=action,
            entity_type="review_item",
            entity_id=item_id,
            after=after,
        )
    report.new_items_by_category = dict(new_by_category)
    return report


def _created_state(item: ReviewItem, score: float) -> dict[str, Any]:
    return {
        "status": "new",
        "category": item.category,
        "first_post_id": item.first_post_id,
        "score": score,
        "life_safety": item.life_safety,
        "jurisdiction": item.jurisdiction,
        "ack_due_at": item.ack_due_at,
    }


def _page_if_life_safety(session: Session, item: ReviewItem, score: float, now: datetime) -> None:
    if item.life_safety:
        # Life-safety items skip batching: the page goes out with the transaction that created the item.
        enqueue_notification(
            session,
            topic="item.life_safety",
            key=f"item.life_safety:{item.id}",
            payload={
                "item_id": item.id,
                "category": item.category,
                "score": round(score, 3),
                "jurisdiction": item.jurisdiction,
                "source_id": item.source_id,
                "ack_due_at": item.ack_due_at.isoformat() if item.ack_due_at else None,
                "summary": f"life-safety {item.category} item {item.id}",
            },
            at=now,
            unit_id=item.jurisdiction,
        )


def review_items_by_category(session: Session) -> dict[str, int]:
    rows = session.execute(select(ReviewItem.category, func.count()).group_by(ReviewItem.category))
    return {category: count for category, count in rows.tuples()}
