"""The scheme pages over a real database and post store: a scheme with matches (one of them hostile
markup), who may read them, and opening a review item by hand from a matched post."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patrol.config import Settings
from patrol.schemes.context import context_for
from patrol.schemes.live import backfill_scheme
from patrol.schemes.registry import SchemeSpec, add_scheme
from patrol.web.app import create_console_app
from patrol.web.build import close_console_context
from patrol.web.context import ConsoleContext
from patrol.web.testing import (
    SHIFT_START,
    XSS_IMG,
    XSS_SCRIPT,
    SeededFolder,
    console_for_tests,
    copy_folder,
    login,
    make_seeded_folder,
)
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import AuditEntry, ReviewItem, ReviewItemPost

HOSTILE_POST = "demo-forum:xss-gun"
CHAT_POST = "demo-forum:chat-2"


@dataclass(frozen=True)
class _Runtime:
    settings: Settings
    workflow: WorkflowDb


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededFolder:
    folder = make_seeded_folder(tmp_path_factory.mktemp("seeded"))
    context = console_for_tests(folder.data_dir, ManualClock(SHIFT_START))
    try:
        with context.api.db.session() as session:
            view = add_scheme(
                session,
                SchemeSpec(
                    name="枪支与面馆",
                    purpose="跟踪出售枪支的帖子 <b>purpose</b>",
                    owner="analyst-li",
                    query="枪支 OR 面馆",
                ),
                actor="ana",
                context=context_for(context.settings),
                now=SHIFT_START - timedelta(days=1),
            )
        report = backfill_scheme(_Runtime(context.settings, context.api.db), view.id, days=7, now=SHIFT_START)
        assert report.matched_posts >= 2, report
    finally:
        close_console_context(context)
    return folder


@pytest.fixture
def console(seeded: SeededFolder, tmp_path: Path) -> Iterator[ConsoleContext]:
    context = console_for_tests(copy_folder(seeded, tmp_path / "data"), ManualClock(SHIFT_START))
    yield context
    close_console_context(context)


@pytest.fixture
def client(console: ConsoleContext) -> Iterator[TestClient]:
    with TestClient(create_console_app(console)) as test_client:
        yield test_client


def scheme_id(console: ConsoleContext) -> str:
    from patrol.schemes.registry import list_schemes

    with console.api.db.read_session() as session:
        return list_schemes(session)[0].id


def test_list_and_scheme_pages_render_with_matches_escaped(client: TestClient, console: ConsoleContext) -> None:
    login(client, "ana")
    listing = client.get("/schemes")
    assert listing.status_code == 200
    assert "跟踪出售枪支的帖子 &lt;b&gt;purpose&lt;/b&gt;" in listing.text
    assert "analyst-li" in listing.text and "枪支 OR 面馆" in listing.text
    sid = scheme_id(console)
    page = client.get(f"/schemes/{sid}")
    assert page.status_code == 200
    assert "<svg" in page.text  # the per-day timeline
    assert HOSTILE_POST in page.text and CHAT_POST in page.text
    for hostile in (XSS_SCRIPT, XSS_IMG, "<svg/onload"):
        assert hostile not in page.text
    assert "&lt;script&gt;" in page.text
    # an analyst reads but may not open items
    assert "/open-item" not in page.text


def test_field_unit_is_refused(client: TestClient, console: ConsoleContext) -> None:
    login(client, "heping")
    assert client.get("/schemes").status_code == 403
    assert client.get(f"/schemes/{scheme_id(console)}").status_code == 403


def count_items(console: ConsoleContext, post_id: str, category: str) -> tuple[int, int]:
    with console.api.db.read_session() as session:
        items = session.scalar(
            select(func.count())
            .select_from(ReviewItemPost)
            .where(ReviewItemPost.post_id == post_id, ReviewItemPost.category == category)
        )
        audits = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "item.opened_by_hand")
        )
    return int(items or 0), int(audits or 0)


def test_officer_opens_one_item_by_hand_and_it_is_audited(client: TestClient, console: ConsoleContext) -> None:
    csrf = login(client, "olga")
    sid = scheme_id(console)
    page = client.get(f"/schemes/{sid}")
    assert page.status_code == 200 and "/open-item" in page.text
    assert count_items(console, CHAT_POST, "fraud") == (0, 0)
    form = {
        "csrf_token": csrf,
        "scheme_id": sid,
        "post_id": CHAT_POST,
        "category": "fraud",
        "note": "面馆 ad asks for deposits",
    }
    first = client.post("/schemes/open-item", data=form, follow_redirects=False)
    assert first.status_code == 303
    assert count_items(console, CHAT_POST, "fraud") == (1, 1)
    second = client.post("/schemes/open-item", data=form, follow_redirects=False)
    assert second.status_code == 303
    assert count_items(console, CHAT_POST, "fraud") == (1, 1)
    with console.api.db.read_session() as session:
        link = session.scalars(select(ReviewItemPost).where(ReviewItemPost.post_id == CHAT_POST)).one()
        item = session.get(ReviewItem, link.item_id)
        assert item is not None and item.status == "new" and item.category == "fraud"
        assert '"signal": "manual"' in link.evidence_json and "面馆 ad asks for deposits" in link.evidence_json
    assert re.search(rf'href="/items/{item.id}"', client.get(f"/schemes/{sid}").text)


def test_a_note_is_required(client: TestClient, console: ConsoleContext) -> None:
    csrf = login(client, "sam")
    sid = scheme_id(console)
    form = {"csrf_token": csrf, "scheme_id": sid, "post_id": CHAT_POST, "category": "fraud", "note": "  "}
    response = client.post("/schemes/open-item", data=form)
    assert response.status_code == 200 and "note" in response.text
    assert count_items(console, CHAT_POST, "fraud") == (0, 0)


def test_open_without_csrf_is_refused(client: TestClient, console: ConsoleContext) -> None:
    login(client, "olga")
    sid = scheme_id(console)
    form = {"scheme_id": sid, "post_id": CHAT_POST, "category": "fraud", "note": "no token"}
    response = client.post("/schemes/open-item", data=form, follow_redirects=False)
    assert response.status_code == 403
    assert count_items(console, CHAT_POST, "fraud") == (0, 0)


def test_analyst_may_not_open_items(client: TestClient, console: ConsoleContext) -> None:
    csrf = login(client, "ana")
    form = {
        "csrf_token": csrf,
        "scheme_id": scheme_id(console),
        "post_id": CHAT_POST,
        "category": "fraud",
        "note": "trying",
    }
    response = client.post("/schemes/open-item", data=form, follow_redirects=False)
    assert response.status_code == 403
    assert count_items(console, CHAT_POST, "fraud") == (0, 0)
