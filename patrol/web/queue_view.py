"""The queue as the console shows it: open items in triage order, with filters, previews and timers.

The order is the workflow's (life-safety first, then highest score, then oldest); the console adds
a source filter and the preview of each item's first post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from patrol.web.posts import PostPreview, PostReader
from patrol.workflow.actors import Actor, Permission, require
from patrol.workflow.items import OPEN_STATES, claim_is_live
from patrol.workflow.models import ReviewItem

QUEUE_VIEWS = ("open", "mine", "free", "life_safety")


@dataclass(frozen=True)
class QueueQuery:
    view: str = "open"
    category: str | None = None
    source: str | None = None
    jurisdiction: str | None = None
    limit: int = 30
    offset: int = 0

    def params(self, **changes: Any) -> dict[str, str]:
        values = {
            "view": self.view,
            "category": self.category,
            "source": self.source,
            "jurisdiction": self.jurisdiction,
            "offset": self.offset,
        } | changes
        return {
            k: str(v)
            for k, v in values.items()
            if v not in (None, "", 0) and not (k == "view" and v == "open")
        }


@dataclass
class QueueRow:
    item: ReviewItem
    preview: PostPreview | None
    claim_live: bool
    mine: bool
    due: datetime | None
    due_label: str


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    query: QueueQuery
    sources: list[str] = field(default_factory=list)


def _conditions(query: QueueQuery, actor: Actor, now: datetime) -> list[Any]:
    conditions: list[Any] = [ReviewItem.status.in_(list(OPEN_STATES))]
    if query.category:
        conditions.append(ReviewItem.category == query.category)
    if query.source:
        conditions.append(ReviewItem.source_id == query.source)
    if query.jurisdiction:
        conditions.append(ReviewItem.jurisdiction == query.jurisdiction)
    if query.view == "mine":
        conditions.append(and_(ReviewItem.claimed_by == actor.username, ReviewItem.claim_expires_at > now))
    elif query.view == "free":
        conditions.append(or_(ReviewItem.status == "new", ReviewItem.claim_expires_at <= now))
    elif query.view == "life_safety":
        conditions.append(ReviewItem.life_safety.is_(True))
    return conditions


def _timer(item: ReviewItem, now: datetime, live: bool) -> tuple[datetime | None, str]:
    if item.life_safety and item.acknowledged_at is None and item.ack_due_at is not None:
        return item.ack_due_at, "acknowledge"
    if live and item.claim_expires_at is not None:
        return item.claim_expires_at, "claim"
    return None, ""


def load_queue(
    session: Session, reader: PostReader, actor: Actor, query: QueueQuery, *, now: datetime
) -> QueuePage:
    require(actor, Permission.ITEMS_READ)
    conditions = _conditions(query, actor, now)
    total = session.scalar(select(func.count()).select_from(ReviewItem).where(*conditions)) or 0
    items = session.scalars(
        select(ReviewItem)
        .where(*conditions)
        .order_by(
            ReviewItem.life_safety.desc(), ReviewItem.max_score.desc(), ReviewItem.created_at, ReviewItem.id
        )
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    previews = reader.previews([i.first_post_id for i in items])
    rows = []
    for item in items:
        live = claim_is_live(item, now)
        due, label = _timer(item, now, live)
        rows.append(
            QueueRow(
                item=item,
                preview=previews.get(item.first_post_id),
                claim_live=live,
                mine=live and item.claimed_by == actor.username,
                due=due,
                due_label=label,
            )
        )
    return QueuePage(rows=rows, total=total, query=query)


def open_sources(session: Session) -> list[str]:
    """Sources that have open items (for the filter's choices)."""
    return list(
        session.scalars(
            select(ReviewItem.source_id)
            .where(ReviewItem.status.in_(list(OPEN_STATES)))
            .distinct()
            .order_by(ReviewItem.source_id)
            .limit(200)
        )
    )
