"""Tables of monitoring schemes, in the workflow database (SQLAlchemy, on the workflow's `Base`).

Created by the Alembic revision `0003_monitoring_schemes` in `patrol/workflow/migrations/versions/`;
`tests/integration/test_scheme_migration.py` checks that the two agree. Changes to schemes are
recorded in the workflow's hash-chained audit log (entity type `scheme`), not in a table here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from patrol.workflow.models import Base


class Scheme(Base):
    """A saved monitoring scheme (监测方案): a query with a purpose, owner, subscribers, alert mode."""

    __tablename__ = "schemes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    purpose: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    active_from: Mapped[datetime | None]
    active_until: Mapped[datetime | None]
    alert_mode: Mapped[str] = mapped_column(String(16))  # realtime | digest | spike
    digest_period: Mapped[str] = mapped_column(String(16), default="daily")  # hourly | daily
    spike_ratio: Mapped[float] = mapped_column(Float, default=3.0)
    spike_min_count: Mapped[int] = mapped_column(Integer, default=5)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))

    subscribers: Mapped[list[SchemeSubscriber]] = relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="SchemeSubscriber.id"
    )


class SchemeSubscriber(Base):
    """A user or a unit that gets the scheme's alerts, with its own quiet hours (local time)."""

    __tablename__ = "scheme_subscribers"
    __table_args__ = (UniqueConstraint("scheme_id", "kind", "subscriber", name="uq_scheme_subscriber"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scheme_id: Mapped[str] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # user | unit
    subscriber: Mapped[str] = mapped_column(String(64))
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "22:00", Asia/Shanghai
    quiet_end: Mapped[str | None] = mapped_column(String(5))  # "07:00"

    scheme: Mapped[Scheme] = relationship(back_populates="subscribers")


class SchemeMatch(Base):
    """One post found by one scheme; a post found by several schemes has a row for each."""

    __tablename__ = "scheme_matches"
    __table_args__ = (
        UniqueConstraint("scheme_id", "post_id", name="uq_scheme_match_post"),
        Index("ix_scheme_matches_scheme_time", "scheme_id", "matched_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scheme_id: Mapped[str] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"))
    post_id: Mapped[str] = mapped_column(String(200), index=True)
    scheme_version: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime]
    matched_at: Mapped[datetime]
    simhash: Mapped[int] = mapped_column(BigInteger)
    group_post_id: Mapped[str] = mapped_column(String(200))  # first post of its near-duplicate group
    terms_json: Mapped[str] = mapped_column(Text)
    life_safety: Mapped[bool] = mapped_column(default=False)
    jurisdiction: Mapped[str | None] = mapped_column(String(64))


class SchemeAlert(Base):
    """An alert for one subscriber, held here through their quiet hours, then put in the outbox.

    `key` is the idempotency key, shared with the outbox event, so re-running a stage or a digest
    tick never alerts twice.
    """

    __tablename__ = "scheme_alerts"
    __table_args__ = (Index("ix_scheme_alerts_due", "status", "deliver_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    scheme_id: Mapped[str] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # realtime | digest | spike
    subscriber_kind: Mapped[str] = mapped_column(String(8))
    subscriber: Mapped[str] = mapped_column(String(64))
    life_safety: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    deliver_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # held | queued
    outbox_event_id: Mapped[str | None] = mapped_column(String(40))
    payload_json: Mapped[str] = mapped_column(Text)
