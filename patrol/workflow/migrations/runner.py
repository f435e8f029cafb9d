"""Run the workflow's Alembic migrations from code: no alembic.ini, no working-directory games.

`upgrade_to_head(engine)` is what `WorkflowDb` calls on start. Concurrent starters are serialised
(an advisory lock on PostgreSQL, the write lock on SQLite) so two processes never race a migration.
A database made by the foundation release (tables created without Alembic) is stamped at the
first revision and then upgraded, keeping its data.

A new revision: write it by hand next to the others (copy the newest one, set `down_revision` to
the current head), or let Alembic create the file from `script.py.mako`:

    .venv/bin/python -c "from alembic import command; from patrol.workflow.migrations.runner import \
        alembic_config; command.revision(alembic_config(), 'what it changes')"

then add a check to `tests/integration/test_workflow_migrations.py` (it compares models and
migrations on SQLite and PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS_DIR = Path(__file__).resolve().parent
#: Its own version table, because the SQLite file is shared with the post store.
VERSION_TABLE = "workflow_alembic_version"
FOUNDATION_REVISION = "0001"
_PG_MIGRATION_LOCK = 0x7061_7472_6F6C  # "patrol"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    head = head_revision()
    with engine.connect() as probe:
        if current_revision(probe) == head:
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if current_revision(connection) is None and inspect(connection).has_table("review_items"):
            command.stamp(alembic_config(connection), FOUNDATION_REVISION)
        command.upgrade(alembic_config(connection), "head")


def downgrade_to(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)
