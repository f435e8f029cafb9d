"""The audit log is append-only and `verify_chain` / `patrol audit verify` name every tampered row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from patrol.commands import audit as audit_cli
from patrol.workflow.actors import Actor, Role
from patrol.workflow.audit import Anchor, entry_hash, record_audit, verify_chain
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import AuditEntry
from patrol.workflow.testing import PG_SKIP_REASON, postgres_test_url, workflow_db
from tests.conftest import BASE_TIME

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OLGA = Actor("olga", Role.PATROL_OFFICER)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowDb]:
    if request.param == "postgres" and postgres_test_url() is None:
        pytest.skip(PG_SKIP_REASON)
    with workflow_db(request.param, tmp_path) as database:
        yield database


def write_rows(db: WorkflowDb, count: int) -> None:
    clock = ManualClock(BASE_TIME)
    for n in range(count):
        with db.session() as s:
            record_audit(
                s,
                at=clock.advance(seconds=7),
                actor=OLGA,
                action="item.claimed",
                entity_type="review_item",
                entity_id=f"ri-{n}",
                before={"status": "new"},
                after={"status": "claimed", "by": "olga"},
            )


def disable_append_only_guard(db: WorkflowDb) -> None:
    """What an intruder with the database owner's rights would do first."""
    with db.engine.begin() as connection:
        if db.is_sqlite:
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")


def problems(db: WorkflowDb, **kwargs: object) -> list[tuple[int, str]]:
    with db.read_session() as s:
        return [(p.seq, p.kind) for p in verify_chain(s, **kwargs).problems]  # type: ignore[arg-type]


def test_the_database_refuses_updates_and_deletes(db: WorkflowDb) -> None:
    write_rows(db, 3)
    for statement in ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 3"):
        with pytest.raises(DatabaseError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    assert problems(db) == []


def test_edits_rehashes_and_deletions_are_each_named(db: WorkflowDb) -> None:
    write_rows(db, 10)
    disable_append_only_guard(db)
    with db.engine.begin() as connection:
        # row 2: content edited, hash left alone
        connection.execute(text('UPDATE audit_log SET after_json = \'{"status":"dismissed"}\' WHERE seq = 2'))
        # row 4: actor edited and the row re-hashed by someone who knows the algorithm
        row = connection.execute(text("SELECT * FROM audit_log WHERE seq = 4")).mappings().one()
        with db.read_session() as s:
            at = s.get(AuditEntry, 4).at  # type: ignore[union-attr]
        forged = entry_hash(
            seq=4,
            at=at,
            actor="mallory",
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            before_json=row["before_json"],
            after_json=row["after_json"],
            prev_hash=row["prev_hash"],
        )
        connection.execute(text("UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 4"), {"h": forged})
        # rows 6 and 7 deleted, and the last row
        connection.execute(text("DELETE FROM audit_log WHERE seq IN (6, 7, 10)"))
    found = problems(db)
    assert found == [(2, "edited"), (4, "chain_broken"), (6, "deleted"), (10, "truncated")]
    with db.read_session() as s:
        messages = [p.message for p in verify_chain(s).problems]
    assert "rows 6..7 deleted" in messages[2] and "rows 10..10 deleted from the end" in messages[3]


def test_an_external_anchor_catches_a_rewritten_tail(db: WorkflowDb) -> None:
    write_rows(db, 5)
    with db.read_session() as s:
        anchor = Anchor(seq=5, hash=verify_chain(s).last_hash)
    disable_append_only_guard(db)
    # rewrite the whole tail consistently (row 5 re-hashed, head updated): only the anchor can tell
    with db.engine.begin() as connection:
        row = connection.execute(text("SELECT * FROM audit_log WHERE seq = 5")).mappings().one()
        with db.read_session() as s:
            at = s.get(AuditEntry, 5).at  # type: ignore[union-attr]
        forged = entry_hash(
            seq=5,
            at=at,
            actor="mallory",
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            before_json=row["before_json"],
            after_json=row["after_json"],
            prev_hash=row["prev_hash"],
        )
        connection.execute(text("UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 5"), {"h": forged})
        connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": forged})
    assert problems(db) == []
    assert problems(db, anchors=[anchor]) == [(5, "anchor_mismatch")]


def test_patrol_audit_verify_exits_nonzero_and_names_the_rows(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = WorkflowDb(f"sqlite:///{data_dir / 'patrol.db'}")
    write_rows(db, 4)
    runner = CliRunner()
    ok = runner.invoke(audit_cli.app, ["verify", "--data-dir", str(data_dir)])
    assert ok.exit_code == 0, ok.output
    assert "4 rows" in ok.output
    head = runner.invoke(audit_cli.app, ["head", "--data-dir", str(data_dir)])
    assert head.exit_code == 0 and head.output.strip().startswith("4:")
    disable_append_only_guard(db)
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        connection.execute(text("UPDATE audit_log SET entity_id = 'ri-x' WHERE seq = 3"))
    db.dispose()
    broken = runner.invoke(audit_cli.app, ["verify", "--data-dir", str(data_dir), "--json"])
    assert broken.exit_code == 1
    assert '"kind": "deleted"' in broken.output and '"seq": 2' in broken.output
    assert '"kind": "edited"' in broken.output and '"seq": 3' in broken.output
    anchored = runner.invoke(audit_cli.app, ["verify", "--data-dir", str(data_dir), "--anchor", head.output.strip()])
    assert anchored.exit_code == 1 and "row 2 deleted" in anchored.output
