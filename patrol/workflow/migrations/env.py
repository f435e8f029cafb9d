"""Alembic environment: always online, on the connection `patrol.workflow.migrations.runner` passes in."""

from __future__ import annotations

from alembic import context

from patrol.workflow.migrations.runner import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run the workflow migrations through patrol.workflow.migrations.runner.upgrade_to_head "
        "(or `patrol workflow migrate`), not the alembic command line"
    )
context.configure(connection=connection, version_table=VERSION_TABLE, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
