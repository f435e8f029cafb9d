"""Monitoring schemes: schemes, their subscribers, matches per (scheme, post) and held alerts.

Revision ID: 0003_schemes
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_schemes"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schemes",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active_from", TZ, nullable=True),
        sa.Column("active_until", TZ, nullable=True),
        sa.Column("alert_mode", sa.String(16), nullable=False),
        sa.Column("digest_period", sa.String(16), nullable=False),
        sa.Column("spike_ratio", sa.Float(), nullable=False),
        sa.Column("spike_min_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "scheme_subscribers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scheme_id", sa.String(40), sa.ForeignKey("schemes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("subscriber", sa.String(64), nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.UniqueConstraint("scheme_id", "kind", "subscriber", name="uq_scheme_subscriber"),
    )
    op.create_index("ix_scheme_subscribers_scheme_id", "scheme_subscribers", ["scheme_id"])
    op.create_table(
        "scheme_matches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scheme_id", sa.String(40), sa.ForeignKey("schemes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("scheme_version", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("matched_at", TZ, nullable=False),
        sa.Column("simhash", sa.BigInteger(), nullable=False),
        sa.Column("group_post_id", sa.String(200), nullable=False),
        sa.Column("terms_json", sa.Text(), nullable=False),
        sa.Column("life_safety", sa.Boolean(), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=True),
        sa.UniqueConstraint("scheme_id", "post_id", name="uq_scheme_match_post"),
    )
    op.create_index("ix_scheme_matches_scheme_time", "scheme_matches", ["scheme_id", "matched_at"])
    op.create_index("ix_scheme_matches_post_id", "scheme_matches", ["post_id"])
    op.create_table(
        "scheme_alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("scheme_id", sa.String(40), sa.ForeignKey("schemes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("subscriber_kind", sa.String(8), nullable=False),
        sa.Column("subscriber", sa.String(64), nullable=False),
        sa.Column("life_safety", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("deliver_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outbox_event_id", sa.String(40), nullable=True),
        sa.Column("payload_json", sa.Text(), nullable=False),
    )
    op.create_index("ix_scheme_alerts_due", "scheme_alerts", ["status", "deliver_at"])
    op.create_index("ix_scheme_alerts_scheme_id", "scheme_alerts", ["scheme_id"])


def downgrade() -> None:
    op.drop_table("scheme_alerts")
    op.drop_table("scheme_matches")
    op.drop_table("scheme_subscribers")
    op.drop_table("schemes")
