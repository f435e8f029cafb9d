"""The scheme tables as the Alembic revision creates them agree with the SQLAlchemy models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import patrol.schemes.models  # noqa: F401  (registers the tables on Base.metadata)
from patrol.workflow.db import WorkflowDb
from patrol.workflow.migrations.runner import downgrade_to
from patrol.workflow.models import Base
from patrol.workflow.testing import PG_SKIP_REASON, isolated_postgres_url, postgres_test_url

SCHEME_TABLES = {"schemes", "scheme_subscribers", "scheme_matches", "scheme_alerts"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wf.db'}"
        return
    base = postgres_test_url()
    if base is None:
        pytest.skip(PG_SKIP_REASON)
    with isolated_postgres_url(base) as isolated:
        yield isolated


def _table_of(diff: object) -> str | None:
    # compare_metadata yields tuples like ("add_column", schema, table, column), or a list of
    # ("modify_type", schema, table, column, ...) tuples; tables, indexes and constraints name theirs.
    item = diff[0] if isinstance(diff, list) else diff
    assert isinstance(item, tuple)
    for part in item[1:]:
        if isinstance(part, str):
            name: object = part
        elif getattr(part, "table", None) is not None:
            name = part.table.name
        else:
            name = getattr(part, "name", None)
        if name in SCHEME_TABLES:
            return str(name)
    return None


def _scheme_differences(db: WorkflowDb) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    return [diff for diff in differences if _table_of(diff) is not None]


def test_migration_creates_exactly_the_modelled_tables(url: str) -> None:
    db = WorkflowDb(url)
    try:
        assert set(inspect(db.engine).get_table_names()) >= SCHEME_TABLES
        assert _scheme_differences(db) == []
    finally:
        db.dispose()


def test_downgrade_removes_the_scheme_tables_and_upgrade_brings_them_back(url: str) -> None:
    db = WorkflowDb(url)
    try:
        downgrade_to(db.engine, "0002")
        assert not SCHEME_TABLES & set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
    again = WorkflowDb(url)
    try:
        assert set(inspect(again.engine).get_table_names()) >= SCHEME_TABLES
    finally:
        again.dispose()
