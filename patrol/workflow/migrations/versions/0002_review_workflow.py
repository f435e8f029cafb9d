"""Review workflow: claims, decisions, verification tasks, SLA breaches, users, shifts, outbox, audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

_ITEM_COLUMNS: list[sa.Column[Any]] = [
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_at", TZ, nullable=True),
    sa.Column("claim_expires_at", TZ, nullable=True),
    sa.Column("ack_due_at", TZ, nullable=True),
    sa.Column("acknowledged_at", TZ, nullable=True),
    sa.Column("acknowledged_by", sa.String(64), nullable=True),
    sa.Column("dismiss_reason", sa.String(32), nullable=True),
    sa.Column("resolution_note", sa.Text(), nullable=True),
    sa.Column("task_id", sa.String(40), nullable=True),
    sa.Column("resolved_at", TZ, nullable=True),
    sa.Column("resolved_by", sa.String(64), nullable=True),
]

_APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_APPEND_ONLY_POSTGRES = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def _add_item_columns() -> None:
    for column in _ITEM_COLUMNS:
        op.add_column("review_items", column)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite may add a referencing column in place; batch mode would copy the table instead,
        # and with foreign keys on, dropping the old copy would cascade into review_item_posts.
        op.execute(
            "ALTER TABLE review_items ADD COLUMN duplicate_of VARCHAR(40) "
            "REFERENCES review_items (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("review_items", sa.Column("duplicate_of", sa.String(40), nullable=True))
        op.create_foreign_key(
            "review_items_duplicate_of_fkey",
            "review_items",
            "review_items",
            ["duplicate_of"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_review_items_claimed_by", "review_items", ["claimed_by"])
    op.create_index("ix_review_items_queue", "review_items", ["status", "life_safety", "max_score", "created_at"])


def upgrade() -> None:
    _add_item_columns()

    op.create_table(
        "verification_tasks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("item_id", sa.String(40), sa.ForeignKey("review_items.id"), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("routed_by", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("assigned_at", TZ, nullable=False),
        sa.Column("ack_due_at", TZ, nullable=False),
        sa.Column("dispatch_due_at", TZ, nullable=False),
        sa.Column("verify_due_at", TZ, nullable=False),
        sa.Column("accepted_at", TZ, nullable=True),
        sa.Column("accepted_by", sa.String(64), nullable=True),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("completed_at", TZ, nullable=True),
        sa.Column("completed_by", sa.String(64), nullable=True),
        sa.Column("cancelled_at", TZ, nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("escalated_to", sa.String(64), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_verification_tasks_item_id", "verification_tasks", ["item_id"])
    op.create_index("ix_verification_tasks_status", "verification_tasks", ["status"])
    op.create_index("ix_tasks_unit_status", "verification_tasks", ["unit_id", "status"])

    op.create_table(
        "task_findings",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "task_id",
            sa.String(40),
            sa.ForeignKey("verification_tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_task_findings_task_id", "task_findings", ["task_id"])

    op.create_table(
        "evidence_files",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "task_id",
            sa.String(40),
            sa.ForeignKey("verification_tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", TZ, nullable=False),
    )
    op.create_index("ix_evidence_files_task_id", "evidence_files", ["task_id"])

    op.create_table(
        "sla_breaches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("detected_at", TZ, nullable=False),
        sa.Column("escalated_to", sa.String(64), nullable=True),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.UniqueConstraint("subject_type", "subject_id", "kind", "due_at", name="uq_sla_breach"),
    )
    op.create_index("ix_sla_breaches_subject_id", "sla_breaches", ["subject_id"])

    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_index("ix_auth_tokens_username", "auth_tokens", ["username"])

    op.create_table(
        "shifts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
    )
    op.create_index("ix_shifts_starts_at", "shifts", ["starts_at"])
    op.create_table(
        "shift_assignments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("shift_id", sa.String(40), sa.ForeignKey("shifts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("username", sa.String(64), sa.ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
        sa.Column("duty", sa.String(16), nullable=False),
        sa.UniqueConstraint("shift_id", "username", name="uq_shift_assignment"),
    )
    op.create_index("ix_shift_assignments_shift_id", "shift_assignments", ["shift_id"])
    op.create_table(
        "shift_notes",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("shift_id", sa.String(40), sa.ForeignKey("shifts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_shift_notes_shift_id", "shift_notes", ["shift_id"])
    op.create_table(
        "handovers",
        sa.Column("id", sa.String(48), primary_key=True),
        sa.Column("shift_id", sa.String(40), sa.ForeignKey("shifts.id"), nullable=False, unique=True),
        sa.Column("next_shift_id", sa.String(40), sa.ForeignKey("shifts.id"), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("ack_due_at", TZ, nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("acknowledged_at", TZ, nullable=True),
    )

    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("topics", sa.String(500), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.Column("recipient_email", sa.String(200), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_outbox_events_topic", "outbox_events", ["topic"])
    op.create_table(
        "outbox_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(40), sa.ForeignKey("outbox_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "channel_id",
            sa.String(40),
            sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("leased_until", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.UniqueConstraint("event_id", "channel_id", name="uq_delivery_event_channel"),
    )
    op.create_index("ix_deliveries_due", "outbox_deliveries", ["status", "next_attempt_at"])

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("before_json", sa.Text(), nullable=True),
        sa.Column("after_json", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_entity", "audit_log", ["entity_type", "entity_id"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # The head row exists from the start, so the first two appends cannot race to create it.
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    statements = _APPEND_ONLY_SQLITE if op.get_bind().dialect.name == "sqlite" else _APPEND_ONLY_POSTGRES
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in (
        "audit_head",
        "audit_log",
        "outbox_deliveries",
        "outbox_events",
        "notification_channels",
        "handovers",
        "shift_notes",
        "shift_assignments",
        "shifts",
        "auth_tokens",
        "users",
        "sla_breaches",
        "evidence_files",
        "task_findings",
        "verification_tasks",
    ):
        op.drop_table(table)
    op.drop_index("ix_review_items_queue", table_name="review_items")
    op.drop_index("ix_review_items_claimed_by", table_name="review_items")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("review_items_duplicate_of_fkey", "review_items", type_="foreignkey")
    with op.batch_alter_table("review_items") as batch:
        for name in [c.name for c in _ITEM_COLUMNS] + ["duplicate_of"]:
            batch.drop_column(name)
