"""Author handles: pseudonymised for exports, raw only for a reviewer or admin on a flagged item, and
every raw view is in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from patrol.config import load_settings
from patrol.ops.privacy import (
    REVEAL_ACTION,
    author_pseudonyms,
    pseudonymise_analysed,
    pseudonymise_page,
    reveal_author,
)
from patrol.store.base import SearchPage
from patrol.store.sqlite import SqlitePostStore
from patrol.thresholds import Thresholds
from patrol.workflow.actors import Actor, Role
from patrol.workflow.audit import verify_chain
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import NotFound, PermissionDenied
from patrol.workflow.flagging import open_review_items
from patrol.workflow.models import AuditEntry, ReviewItemPost
from tests.conftest import BASE_TIME, make_analysed

HANDLE = "道外老王"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[SqlitePostStore, WorkflowDb, str]]:
    store = SqlitePostStore(tmp_path / "patrol.db")
    db = WorkflowDb(f"sqlite:///{tmp_path / 'patrol.db'}")
    risky = make_analysed("1", "我不想活了", ["不想活"], scores={"self_harm": 0.9}, author=HANDLE)
    calm = make_analysed("2", "今天天气不错", ["天气"], author="路人甲")
    store.upsert([risky, calm])
    with db.session() as session:
        open_review_items(session, [risky], Thresholds(), max_distance=3, now=BASE_TIME)
        item_id = session.scalars(select(ReviewItemPost.item_id)).one()
    yield store, db, item_id
    store.close()
    db.dispose()


def test_pseudonyms_are_stable_salted_and_hide_the_handle(tmp_path: Path) -> None:
    names = author_pseudonyms(load_settings(data_dir=tmp_path / "a"))
    again = author_pseudonyms(load_settings(data_dir=tmp_path / "a"))
    elsewhere = author_pseudonyms(load_settings(data_dir=tmp_path / "b"))
    first = names("forum", HANDLE)
    assert first is not None and HANDLE not in first and first.startswith("作者-")
    assert again("forum", HANDLE) == first
    assert elsewhere("forum", HANDLE) != first, "another installation's salt gives other pseudonyms"
    assert names("forum", "别人") != first
    assert names("forum", None) is None


def test_exports_carry_pseudonyms_only(
    world: tuple[SqlitePostStore, WorkflowDb, str], tmp_path: Path
) -> None:
    store, _, _ = world
    names = author_pseudonyms(load_settings(data_dir=tmp_path))
    page = pseudonymise_page(store.search("天气"), names)
    assert isinstance(page, SearchPage) and page.total == 1
    assert page.hits[0].author == names("test-forum", "路人甲")
    exported = pseudonymise_analysed(store.get_many(["test-forum:1", "test-forum:2"]), names)
    assert HANDLE not in "".join(item.model_dump_json() for item in exported)


@pytest.mark.parametrize("role", [Role.PATROL_OFFICER, Role.ANALYST, Role.FIELD_UNIT])
def test_other_roles_may_not_see_the_raw_handle(
    world: tuple[SqlitePostStore, WorkflowDb, str], role: Role
) -> None:
    store, db, item_id = world
    with pytest.raises(PermissionDenied, match="pseudonymised"), db.session() as session:
        reveal_author(
            session, Actor("someone", role), store, item_id=item_id, post_id="test-forum:1", now=BASE_TIME
        )
    with db.read_session() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == REVEAL_ACTION)).all() == []


def test_reviewer_sees_the_handle_and_the_view_is_audited(
    world: tuple[SqlitePostStore, WorkflowDb, str],
) -> None:
    store, db, item_id = world
    reviewer = Actor("zhang.sup", Role.REVIEWER)
    with db.session() as session:
        handle = reveal_author(
            session, reviewer, store, item_id=item_id, post_id="test-forum:1", now=BASE_TIME
        )
    assert handle == HANDLE
    with db.read_session() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == REVEAL_ACTION)).all()
        assert [(r.actor, r.entity_id) for r in rows] == [("zhang.sup", item_id)]
        assert HANDLE not in (rows[0].after_json or "")
        assert verify_chain(session).ok


def test_only_posts_of_a_flagged_item(world: tuple[SqlitePostStore, WorkflowDb, str]) -> None:
    store, db, item_id = world
    with pytest.raises(NotFound, match="only there"), db.session() as session:
        reveal_author(
            session, Actor("root", Role.ADMIN), store, item_id=item_id, post_id="test-forum:2", now=BASE_TIME
        )
