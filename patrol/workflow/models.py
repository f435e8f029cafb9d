"""Workflow tables (SQLAlchemy 2 declarative).

The schema is created and changed only by the Alembic migrations in `patrol/workflow/migrations/`;
`tests/integration/test_workflow_migrations.py` checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zone type: SQLAlchemy would store the wall-clock digits of whatever zone the
    value had and hand back naive datetimes. Converting to UTC on the way in and attaching UTC on
    the way out keeps stored values comparable as text and never lets a naive datetime out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the workflow database; attach a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


# -- review queue -------------------------------------------------------------------------------


class ReviewItem(Base):
    """One item in the review queue: a near-duplicate group of posts flagged in one category.

    status: new -> claimed -> dismissed | duplicate | escalated (see `patrol.workflow.items`).
    """

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_queue", "status", "life_safety", "max_score", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    life_safety: Mapped[bool] = mapped_column(default=False)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    first_post_id: Mapped[str] = mapped_column(String(200))
    source_id: Mapped[str] = mapped_column(String(100))
    jurisdiction: Mapped[str | None] = mapped_column(String(64), index=True)
    post_count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # the claim: who holds the item and until when (an expired claim is free for anyone)
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    claimed_at: Mapped[datetime | None]
    claim_expires_at: Mapped[datetime | None]
    # life-safety acknowledgement timer
    ack_due_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    # the decision
    dismiss_reason: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[str | None] = mapped_column(ForeignKey("review_items.id", ondelete="SET NULL"))
    task_id: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))

    posts: Mapped[list[ReviewItemPost]] = relationship(back_populates="item", order_by="ReviewItemPost.added_at")


class ReviewItemPost(Base):
    """A post (one copy of the group) attached to a review item, with its evidence for that category."""

    __tablename__ = "review_item_posts"
    __table_args__ = (
        UniqueConstraint("post_id", "category", name="uq_item_post_category"),
        Index("ix_item_posts_category", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    simhash: Mapped[int] = mapped_column(BigInteger)
    evidence_json: Mapped[str] = mapped_column(Text)
    scorer: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime]

    item: Mapped[ReviewItem] = relationship(back_populates="posts")


# -- verification tasks -------------------------------------------------------------------------


class VerificationTask(Base):
    """Offline verification by a field unit: assigned -> accepted -> in_progress -> completed | cancelled."""

    __tablename__ = "verification_tasks"
    __table_args__ = (Index("ix_tasks_unit_status", "unit_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[str] = mapped_column(String(64))
    routed_by: Mapped[str] = mapped_column(String(16))  # jurisdiction | override | fallback
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # SLA clock: restarts whenever the task (re-)enters `assigned`
    assigned_at: Mapped[datetime]
    ack_due_at: Mapped[datetime]
    dispatch_due_at: Mapped[datetime]
    verify_due_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    escalated_to: Mapped[str | None] = mapped_column(String(64))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    findings: Mapped[list[TaskFinding]] = relationship(order_by="TaskFinding.created_at")
    evidence_files: Mapped[list[EvidenceFile]] = relationship(order_by="EvidenceFile.uploaded_at")


class TaskFinding(Base):
    __tablename__ = "task_findings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("verification_tasks.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class EvidenceFile(Base):
    """A file a field unit attached to a task; the bytes live content-addressed under the evidence dir."""

    __tablename__ = "evidence_files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("verification_tasks.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]


class SlaBreach(Base):
    """A missed deadline (task acknowledge/dispatch/verify, life-safety item or handover acknowledgement)."""

    __tablename__ = "sla_breaches"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", "kind", "due_at", name="uq_sla_breach"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # item | task | handover
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    detected_at: Mapped[datetime]
    escalated_to: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(String(64))


# -- people -------------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AuthToken(Base):
    """A bearer token or a cookie session; only the SHA-256 of the secret is stored."""

    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # bearer | session
    csrf_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


# -- shifts -------------------------------------------------------------------------------------


class Shift(Base):
    """One occurrence of a roster shift, e.g. `2026-11-27.day`."""

    __tablename__ = "shifts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class ShiftAssignment(Base):
    __tablename__ = "shift_assignments"
    __table_args__ = (UniqueConstraint("shift_id", "username", name="uq_shift_assignment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username", ondelete="CASCADE"))
    duty: Mapped[str] = mapped_column(String(16))  # officer | supervisor


class ShiftNote(Base):
    __tablename__ = "shift_notes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Handover(Base):
    """What the outgoing shift hands to the incoming one; acknowledged by an incoming officer."""

    __tablename__ = "handovers"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), unique=True)
    next_shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"))
    created_at: Mapped[datetime]
    ack_due_at: Mapped[datetime]
    summary_json: Mapped[str] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]


# -- notifications ------------------------------------------------------------------------------


class NotificationChannel(Base):
    """A receiver of notifications: a webhook (signed JSON) or an e-mail route over SMTP."""

    __tablename__ = "notification_channels"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | email
    config_json: Mapped[str] = mapped_column(Text)
    topics: Mapped[str] = mapped_column(String(500))  # comma-separated fnmatch patterns
    unit_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class OutboxEvent(Base):
    """A notification written in the same transaction as the change it reports."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    payload_json: Mapped[str] = mapped_column(Text)
    unit_id: Mapped[str | None] = mapped_column(String(64))
    recipient_email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class OutboxDelivery(Base):
    """One event to one channel; delivered at least once, deduplicated by the receiver by its key."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel_id", name="uq_delivery_event_channel"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    leased_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


# -- audit --------------------------------------------------------------------------------------


class AuditEntry(Base):
    """One row of the append-only, hash-chained audit log (see `patrol.workflow.audit`)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(200))
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The latest (seq, hash) of the chain, so deleting rows from the end is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
