"""Alembic migrations: they match the models, upgrade foundation databases in place, and run down and up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from patrol.workflow.db import WorkflowDb, make_engine
from patrol.workflow.migrations.runner import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    downgrade_to,
    head_revision,
    upgrade_to_head,
)
from patrol.workflow.models import Base
from patrol.workflow.testing import PG_SKIP_REASON, isolated_postgres_url, postgres_test_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wf.db'}"
        return
    base = postgres_test_url()
    if base is None:
        pytest.skip(PG_SKIP_REASON)
    with isolated_postgres_url(base) as isolated:
        yield isolated


# This module checks the workflow's own tables; tables other packages keep in the workflow database
# (e.g. monitoring schemes, revision 0003) are checked by their own tests.
WORKFLOW_TABLES = {
    str(mapper.class_.__tablename__)
    for mapper in Base.registry.mappers
    if mapper.class_.__module__ == "patrol.workflow.models"
}


def _table_of(entry: Any) -> str | None:
    if isinstance(entry, list):  # modify_* differences come grouped per column
        return _table_of(entry[0])
    kind, subject = entry[0], entry[1]
    if kind in ("add_table", "remove_table"):
        return str(subject.name)
    if kind in ("add_column", "remove_column") or kind.startswith("modify_"):
        return str(entry[2])
    table = getattr(subject, "table", None)
    return str(table.name) if table is not None else None


def _real_differences(diff: list[Any], dialect: str) -> list[Any]:
    real = []
    for entry in diff:
        if _table_of(entry) not in WORKFLOW_TABLES:
            continue
        # SQLite's reflection does not report ON DELETE of a column-level REFERENCES clause, which the
        # migration had to use; the constraint itself is there (checked below).
        if dialect == "sqlite" and entry[0] in ("add_fk", "remove_fk"):
            continue
        real.append(entry)
    return real


def test_migrated_schema_matches_the_models(url: str) -> None:
    db = WorkflowDb(url)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
            assert _real_differences(diff, connection.dialect.name) == []
            assert current_revision(connection) == head_revision()
            if connection.dialect.name == "sqlite":
                fks = connection.exec_driver_sql("PRAGMA foreign_key_list(review_items)").all()
                assert [(fk[3], fk[6]) for fk in fks] == [("duplicate_of", "SET NULL")]
    finally:
        db.dispose()


def test_foundation_database_is_upgraded_in_place_keeping_its_items(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))  # the foundation used create_all, no Alembic
        connection.execute(
            text(
                "INSERT INTO review_items (id, category, status, life_safety, max_score, first_post_id, source_id,"
                " post_count, created_at, updated_at) VALUES ('ri-old', 'fraud', 'new', false, 0.7, 'f:1', 'f', 1,"
                " '2026-11-20 10:00:00.000000', '2026-11-20 10:00:00.000000')"
            )
        )
    engine.dispose()
    db = WorkflowDb(url)
    try:
        with db.read_session() as session:
            row = session.execute(text("SELECT id, claimed_by FROM review_items")).one()
            assert tuple(row) == ("ri-old", None)
        assert "audit_log" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()


def test_downgrade_to_nothing_and_up_again(url: str) -> None:
    db = WorkflowDb(url)
    try:
        downgrade_to(db.engine, "base")
        assert not {"review_items", "audit_log"} & set(inspect(db.engine).get_table_names())
        upgrade_to_head(db.engine)
        with db.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        db.dispose()


def test_processes_starting_together_migrate_once(url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_db() -> None:
        start.wait()
        try:
            WorkflowDb(url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_db) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
