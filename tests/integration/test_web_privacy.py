"""Post authors on the console: pseudonymised for everyone, the raw handle only through a
reviewer's or admin's audited reveal form, over a real database and the real console app."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from patrol.ops.privacy import REVEAL_ACTION, author_pseudonyms
from patrol.web.app import create_console_app
from patrol.web.build import close_console_context
from patrol.web.context import ConsoleContext
from patrol.web.testing import (
    SHIFT_START,
    XSS_SVG,
    SeededFolder,
    SeedPost,
    console_for_tests,
    copy_folder,
    login,
    make_seeded_folder,
    seed,
)
from patrol.workflow.clock import ManualClock
from patrol.workflow.models import AuditEntry

HANDLE = "道里老王_1984"
KNIFE = SeedPost(
    "knife",
    "有人在群力大道地铁口拿着管制刀具追人，大家绕开走",
    "weapons",
    "管制刀具",
    score=0.84,
    author=HANDLE,
    jurisdiction="dl-qunli",
    minutes_ago=20,
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededFolder:
    folder = make_seeded_folder(tmp_path_factory.mktemp("seeded"))
    context = console_for_tests(folder.data_dir, ManualClock(SHIFT_START))
    try:
        extra = seed(context, [KNIFE], now=SHIFT_START)
    finally:
        close_console_context(context)
    folder.data.item_of.update(extra.item_of)
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


def reveal_rows(console: ConsoleContext) -> list[AuditEntry]:
    with console.api.db.read_session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == REVEAL_ACTION)))


def test_the_item_page_shows_a_pseudonym_not_the_handle(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    item_id = seeded.data.item_of["knife"]
    login(client, "olga")
    page = client.get(f"/items/{item_id}")
    assert page.status_code == 200
    pseudonym = author_pseudonyms(console.settings)("demo-forum", HANDLE)
    assert pseudonym and pseudonym.startswith("作者-") and shown_author(page.text) == pseudonym
    assert HANDLE not in page.text and "老王" not in page.text
    assert "reveal-author" not in page.text, "an officer is not offered the reveal form"


def shown_author(page: str) -> str:
    found = re.search(r'class="crawled author-pseudonym"[^>]*>([^<]*)</span>', page)
    assert found is not None, "the item page shows no author"
    return found.group(1)


def test_a_hostile_handle_is_pseudonymised_too(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    login(client, "oleg")
    page = client.get(f"/items/{seeded.data.item_of['xss-gun']}").text
    # The post text itself carries the same markup (escaped), so look at the author field only.
    assert shown_author(page) == author_pseudonyms(console.settings)("demo-forum", XSS_SVG)
    assert XSS_SVG not in page


def test_a_reviewer_reveals_the_handle_and_the_reveal_is_audited(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    item_id = seeded.data.item_of["knife"]
    csrf = login(client, "sam")
    page = client.get(f"/items/{item_id}").text
    assert f'action="/items/{item_id}/reveal-author"' in page and HANDLE not in page
    assert reveal_rows(console) == []
    revealed = client.post(
        f"/items/{item_id}/reveal-author", data={"csrf_token": csrf, "post_id": "demo-forum:knife"}
    )
    assert revealed.status_code == 200
    assert f'<strong class="crawled revealed-author">{HANDLE}</strong>' in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    rows = reveal_rows(console)
    assert [(r.actor, r.entity_id) for r in rows] == [("sam", item_id)]
    after = json.loads(rows[0].after_json or "{}")
    assert after["post_id"] == "demo-forum:knife"
    assert HANDLE not in (rows[0].after_json or ""), "the audit log records the reveal, never the handle"
    assert HANDLE not in client.get(f"/items/{item_id}").text, "the next view is pseudonymised again"


def test_a_revealed_hostile_handle_is_escaped(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    item_id = seeded.data.item_of["xss-gun"]
    csrf = login(client, "root")
    revealed = client.post(
        f"/items/{item_id}/reveal-author", data={"csrf_token": csrf, "post_id": "demo-forum:xss-gun"}
    )
    assert revealed.status_code == 200
    assert XSS_SVG not in revealed.text
    assert html.escape(XSS_SVG, quote=True) in revealed.text
    assert len(reveal_rows(console)) == 1


@pytest.mark.parametrize("username", ["olga", "ana", "heping"])
def test_other_roles_are_refused_the_handle(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder, username: str
) -> None:
    item_id = seeded.data.item_of["knife"]
    csrf = login(client, username)
    refused = client.post(
        f"/items/{item_id}/reveal-author", data={"csrf_token": csrf, "post_id": "demo-forum:knife"}
    )
    assert refused.status_code == 403
    assert HANDLE not in refused.text
    assert reveal_rows(console) == []


def test_a_reveal_without_the_csrf_token_is_refused(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    item_id = seeded.data.item_of["knife"]
    login(client, "sam")
    refused = client.post(f"/items/{item_id}/reveal-author", data={"post_id": "demo-forum:knife"})
    assert refused.status_code == 403 and "Form refused" in refused.text
    forged = client.post(
        f"/items/{item_id}/reveal-author", data={"csrf_token": "guessed", "post_id": "demo-forum:knife"}
    )
    assert forged.status_code == 403 and HANDLE not in forged.text
    assert reveal_rows(console) == []


def test_only_posts_of_the_item_can_be_revealed(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    csrf = login(client, "sam")
    other = client.post(
        f"/items/{seeded.data.item_of['fraud']}/reveal-author",
        data={"csrf_token": csrf, "post_id": "demo-forum:knife"},
    )
    assert other.status_code == 404 and HANDLE not in other.text
    assert reveal_rows(console) == []
