"""Review items opened by hand: an officer reads a post (say, a scheme's match) and puts it on the queue.

Schemes never open items by themselves; a person does, in a category they choose and with a note
saying why. Like the flag stage, this is idempotent per (post, category): opening the same post in
the same category twice returns the item it is already in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.schema import LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES, AnalysedPost
from patrol.workflow.actors import Actor, Permission, require
from patrol.workflow.audit import record_audit
from patrol.workflow.errors import InvalidInput
from patrol.workflow.flagging import _created_state, _default_sla, _page_if_life_safety, review_item_id
from patrol.workflow.models import ReviewItem, ReviewItemPost
from patrol.workflow.policy import SlaPolicy

MANUAL_SIGNAL = "manual"
NOTE_MAX_CHARS = 2000


@dataclass(frozen=True)
class ManualOpen:
    item_id: str
    created: bool


def open_item_by_hand(
    session: Session,
    post: AnalysedPost,
    category: str,
    actor: Actor,
    note: str,
    now: datetime,
    *,
    sla: SlaPolicy | None = None,
) -> ManualOpen:
    """Open a review item for `post` in `category`, or return the item it already is in for that category."""
    require(actor, Permission.ITEMS_TRIAGE)
    if category not in RISK_CATEGORIES:
        raise InvalidInput(f"unknown category {category!r}; choose one of {', '.join(RISK_CATEGORIES)}")
    note = note.strip()
    if not note:
        raise InvalidInput("say in the note why this post needs review")
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(f"the note is {len(note)} characters; keep it under {NOTE_MAX_CHARS}")
    existing = session.scalar(
        select(ReviewItemPost.item_id).where(
            ReviewItemPost.post_id == post.post.id, ReviewItemPost.category == category
        )
    )
    if existing is not None:
        return ManualOpen(item_id=existing, created=False)
    sla = sla or _default_sla()
    item_id = review_item_id(category, post.post.id)
    score = float(post.analysis.risk_scores.get(category, 0.0))
    life_safety = category in LIFE_SAFETY_CATEGORIES
    item = ReviewItem(
        id=item_id,
        category=category,
        status="new",
        life_safety=life_safety,
        max_score=score,
        first_post_id=post.post.id,
        source_id=post.post.source_id,
        jurisdiction=post.analysis.jurisdiction or post.post.jurisdiction_hint,
        post_count=1,
        created_at=now,
        updated_at=now,
        ack_due_at=now + sla.life_safety_ack if life_safety else None,
    )
    session.add(item)
    session.flush()
    evidence = [{"category": category, "signal": MANUAL_SIGNAL, "rule": f"manual:{actor.username}", "note": note}]
    session.add(
        ReviewItemPost(
            item_id=item_id,
            post_id=post.post.id,
            category=category,
            source_id=post.post.source_id,
            score=score,
            simhash=post.analysis.simhash,
            evidence_json=json.dumps(evidence, ensure_ascii=False),
            scorer=f"{MANUAL_SIGNAL}:{actor.username}",
            added_at=now,
        )
    )
    session.flush()
    _page_if_life_safety(session, item, score, now)
    record_audit(
        session,
        at=now,
        actor=actor,
        action="item.opened_by_hand",
        entity_type="review_item",
        entity_id=item_id,
        after={**_created_state(item, score), "post_id": post.post.id, "note": note},
    )
    return ManualOpen(item_id=item_id, created=True)
