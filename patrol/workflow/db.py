"""The workflow database: SQLite by default (same file as the posts), PostgreSQL in production.

Opening a `WorkflowDb` brings the schema to the latest Alembic revision (never `create_all`), so a
deployment upgrades by starting the new version. Write transactions on SQLite start with
`BEGIN IMMEDIATE`: they take the write lock up front, so "read the next free item, then claim it"
cannot interleave with another writer, the same guarantee `FOR UPDATE SKIP LOCKED` gives on
PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from patrol.workflow.migrations.runner import upgrade_to_head

_BEGIN_MODE = "patrol_sqlite_begin"
_WRITER_WAIT_S = 60


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event below (pysqlite's own is unreliable).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_MODE, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    """An engine for `url`, without touching the schema (see `WorkflowDb` for that)."""
    if is_sqlite(url):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=20, max_overflow=20
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)
    return engine


class WorkflowDb:
    """An engine and its session factories; one per process, passed to whoever needs it."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade_to_head(self.engine)
        self._write_sessions = sessionmaker(self.engine, expire_on_commit=False)
        reader = self.engine.execution_options(**{_BEGIN_MODE: "DEFERRED"}) if self.is_sqlite else self.engine
        self._read_sessions = sessionmaker(reader, expire_on_commit=False)
        # SQLite lets one writer in at a time and makes the others poll with growing sleeps; queueing
        # this process's writers on a lock hands the write lock over without those sleeps.
        self._sqlite_writers = threading.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction that may write; commits on success, rolls back on any exception."""
        with self._writer_turn(), self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        if self._sqlite_writers is None:
            yield
            return
        if not self._sqlite_writers.acquire(timeout=_WRITER_WAIT_S):
            raise TimeoutError(
                f"waited {_WRITER_WAIT_S} s for this process's SQLite writer lock; a write transaction is stuck,"
                " or a thread opened a write session inside another one"
            )
        try:
            yield
        finally:
            self._sqlite_writers.release()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A transaction that only reads; on SQLite it does not take the write lock."""
        with self._read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
