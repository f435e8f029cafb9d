"""Workflow tables (SQLAlchemy 2 declarative)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ReviewItem(Base):
    """One item in the review queue: a near-duplicate group of posts flagged in one category."""

    __tablename__ = "review_items"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    life_safety: Mapped[bool] = mapped_column(default=False)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    first_post_id: Mapped[str] = mapped_column(String(200))
    source_id: Mapped[str] = mapped_column(String(100))
    jurisdiction: Mapped[str | None] = mapped_column(String(64), index=True)
    post_count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

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
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    item: Mapped[ReviewItem] = relationship(back_populates="posts")
