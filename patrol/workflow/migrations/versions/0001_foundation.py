"""Foundation: review items and the posts attached to them.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("life_safety", sa.Boolean(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("first_post_id", sa.String(200), nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=True),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_review_items_category", "review_items", ["category"])
    op.create_index("ix_review_items_status", "review_items", ["status"])
    op.create_index("ix_review_items_jurisdiction", "review_items", ["jurisdiction"])
    op.create_table(
        "review_item_posts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(40), sa.ForeignKey("review_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("simhash", sa.BigInteger(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.Column("scorer", sa.String(200), nullable=False),
        sa.Column("added_at", TZ, nullable=False),
        sa.UniqueConstraint("post_id", "category", name="uq_item_post_category"),
    )
    op.create_index("ix_item_posts_category", "review_item_posts", ["category"])
    op.create_index("ix_review_item_posts_item_id", "review_item_posts", ["item_id"])


def downgrade() -> None:
    op.drop_table("review_item_posts")
    op.drop_table("review_items")
