"""Schemes in the workflow database: add, change (versions), delete, validation, and the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from patrol.schemes.context import MatchContext
from patrol.schemes.models import Scheme, SchemeSubscriber
from patrol.schemes.query import QueryError
from patrol.schemes.registry import (
    SchemeChange,
    SchemeInvalid,
    SchemeNotFound,
    SchemeSpec,
    Subscriber,
    add_scheme,
    change_scheme,
    delete_scheme,
    list_schemes,
    live_scheme_sources,
)
from patrol.workflow.audit import audit_rows, verify_chain
from patrol.workflow.db import WorkflowDb
from patrol.workflow.testing import PG_SKIP_REASON, postgres_test_url, workflow_db

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
CONTEXT = MatchContext()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowDb]:
    if request.param == "postgres" and postgres_test_url() is None:
        pytest.skip(PG_SKIP_REASON)
    with workflow_db(request.param, tmp_path) as database:
        yield database


def spec(**fields: object) -> SchemeSpec:
    values: dict[str, object] = {
        "name": "香坊燃气",
        "purpose": "跟踪香坊区燃气泄漏，排除演练",
        "owner": "analyst-li",
        "query": "(燃气 OR 煤气) 泄漏 place:香坊 NOT 演练",
        "subscribers": [Subscriber.parse("unit:xf-branch,quiet=22:00-07:00"), Subscriber.parse("user:zhang")],
    }
    values.update(fields)
    return SchemeSpec.model_validate(values)


def test_add_stores_the_scheme_and_audits_it(db: WorkflowDb) -> None:
    with db.session() as session:
        view = add_scheme(session, spec(), actor="li", context=CONTEXT, now=NOW)
    assert view.version == 1 and view.created_by == "li"
    with db.read_session() as session:
        [stored] = list_schemes(session)
        assert stored.purpose == "跟踪香坊区燃气泄漏，排除演练"
        assert [s.label() for s in stored.subscribers] == ["unit:xf-branch,quiet=22:00-07:00", "user:zhang"]
        [row] = audit_rows(session, entity_type="scheme", entity_id=view.id)
        assert (row.action, row.actor) == ("scheme.add", "li")
        assert json.loads(row.after_json or "{}")["query"] == "(燃气 OR 煤气) 泄漏 place:香坊 NOT 演练"


def test_a_changed_query_is_a_new_version_and_the_audit_keeps_before_and_after(db: WorkflowDb) -> None:
    with db.session() as session:
        add_scheme(session, spec(), actor="li", context=CONTEXT, now=NOW)
    with db.session() as session:
        view = change_scheme(
            session,
            "香坊燃气",
            SchemeChange(query="燃气 泄漏 place:香坊", remove_subscribers=["user:zhang"]),
            actor="wang",
            context=CONTEXT,
            now=NOW + timedelta(hours=1),
        )
    assert view.version == 2 and view.updated_by == "wang"
    with db.session() as session:
        renamed = change_scheme(session, view.id, SchemeChange(purpose="只看香坊"), actor="wang", context=CONTEXT)
    assert renamed.version == 2  # purpose is not the query: same version
    with db.read_session() as session:
        rows = audit_rows(session, entity_type="scheme", entity_id=view.id)
        assert [r.action for r in rows] == ["scheme.add", "scheme.change", "scheme.change"]
        before, after = json.loads(rows[1].before_json or "{}"), json.loads(rows[1].after_json or "{}")
        assert before["query"] == "(燃气 OR 煤气) 泄漏 place:香坊 NOT 演练" and after["query"] == "燃气 泄漏 place:香坊"
        assert after["subscribers"] == ["unit:xf-branch,quiet=22:00-07:00"]
        assert after["version"] == 2
        assert verify_chain(session).ok


def test_delete_removes_everything_but_the_audit_row_keeps_the_whole_scheme(db: WorkflowDb) -> None:
    with db.session() as session:
        view = add_scheme(session, spec(), actor="li", context=CONTEXT, now=NOW)
    with db.session() as session:
        delete_scheme(session, "香坊燃气", actor="li", now=NOW)
    with db.read_session() as session:
        assert session.scalars(select(Scheme)).all() == []
        assert session.scalars(select(SchemeSubscriber)).all() == []
        last = audit_rows(session, entity_type="scheme", entity_id=view.id)[-1]
        assert last.action == "scheme.delete"
        assert json.loads(last.before_json or "{}")["purpose"] == "跟踪香坊区燃气泄漏，排除演练"


def test_bad_input_is_refused_with_a_message_that_says_what_to_do(db: WorkflowDb) -> None:
    with db.session() as session:
        add_scheme(session, spec(), actor="li", context=CONTEXT, now=NOW)
    with db.session() as session, pytest.raises(SchemeInvalid, match="exists; choose another name"):
        add_scheme(session, spec(), actor="li", context=CONTEXT)
    with db.session() as session, pytest.raises(QueryError, match="unknown place"):
        add_scheme(session, spec(name="x", query="燃气 place:火星"), actor="li", context=CONTEXT)
    with db.session() as session, pytest.raises(QueryError, match="column 6"):
        add_scheme(session, spec(name="y", query="燃气 OR"), actor="li", context=CONTEXT)
    with db.session() as session, pytest.raises(SchemeInvalid, match="unknown unit 'nowhere'"):
        add_scheme(session, spec(name="z", subscribers=[Subscriber.parse("unit:nowhere")]), actor="li", context=CONTEXT)
    with db.session() as session, pytest.raises(SchemeNotFound, match="schemes: 香坊燃气"):
        change_scheme(session, "不存在", SchemeChange(purpose="x"), actor="li", context=CONTEXT)
    with pytest.raises(ValueError, match="purpose"):
        spec(purpose="   ")
    with pytest.raises(ValueError, match="quiet hours need both"):
        Subscriber(kind="user", id="zhang", quiet_start="22:00")
    with pytest.raises(ValueError, match="quiet=HH:MM-HH:MM"):
        Subscriber.parse("user:zhang,loud=1")


def test_live_schemes_are_those_started_and_not_long_ended(db: WorkflowDb) -> None:
    with db.session() as session:
        add_scheme(session, spec(name="always"), actor="li", context=CONTEXT, now=NOW)
        add_scheme(
            session, spec(name="later", active_from=NOW + timedelta(days=1)), actor="li", context=CONTEXT, now=NOW
        )
        add_scheme(
            session,
            spec(name="just ended", active_from=NOW - timedelta(days=3), active_until=NOW - timedelta(hours=2)),
            actor="li",
            context=CONTEXT,
            now=NOW,
        )
        add_scheme(
            session,
            spec(name="long ended", active_from=NOW - timedelta(days=30), active_until=NOW - timedelta(days=20)),
            actor="li",
            context=CONTEXT,
            now=NOW,
        )
    with db.read_session() as session:
        names = [view.name for view, _ in live_scheme_sources(session, NOW)]
        assert names == ["always", "just ended"]  # a late post of the ended window still counts
        assert [v.name for v in list_schemes(session, active_at=NOW)] == ["always"]
