"""The queue and item pages over a real database: triage order and filters, one-click decisions,
claims, bulk actions, and the item page's evidence, copies, thread, place and history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from patrol.web.app import create_console_app
from patrol.web.build import close_console_context
from patrol.web.context import ConsoleContext
from patrol.web.testing import (
    SHIFT_START,
    SeededFolder,
    console_for_tests,
    copy_folder,
    login,
    make_seeded_folder,
)
from patrol.workflow.clock import ManualClock
from patrol.workflow.models import AuditEntry, ReviewItem

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededFolder:
    return make_seeded_folder(tmp_path_factory.mktemp("seeded"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SHIFT_START)


@pytest.fixture
def console(seeded: SeededFolder, tmp_path: Path, clock: ManualClock) -> Iterator[ConsoleContext]:
    context = console_for_tests(copy_folder(seeded, tmp_path / "data"), clock)
    yield context
    close_console_context(context)


@pytest.fixture
def client(console: ConsoleContext) -> Iterator[TestClient]:
    with TestClient(create_console_app(console)) as test_client:
        yield test_client


def item_ids_in_order(html: str) -> list[str]:
    return re.findall(r'<tr class="item-row[^"]*" data-item-id="([^"]+)"', html)


def test_queue_puts_life_safety_first_then_score(client: TestClient, seeded: SeededFolder) -> None:
    login(client, "olga")
    html = client.get("/queue").text
    order = item_ids_in_order(html)
    ids = seeded.data.item_of
    assert order[:2] == [ids["selfharm"], ids["threat"]], "life-safety items lead, highest score first"
    assert order.index(ids["xss-gun"]) < order.index(ids["gamble-1"]), "then by score"
    assert 'class="countdown' in html and "acknowledge:" in html, "life-safety items show their timer"
    only_gambling = item_ids_in_order(client.get("/queue?category=gambling").text)
    assert set(only_gambling) == {ids["gamble-1"], ids["gamble-2"]}
    by_source = item_ids_in_order(client.get("/queue?source=demo-news&category=").text)
    assert set(by_source) == {ids["gamble-1"], ids["gamble-2"]}
    by_place = item_ids_in_order(client.get("/queue?jurisdiction=xf-xiangfang").text)
    assert by_place == [ids["gas"]]
    rows = client.get("/queue/rows?view=life_safety", headers={"X-Patrol-Fragment": "1"})
    assert rows.text.lstrip().startswith("<tbody") and set(item_ids_in_order(rows.text)) == {
        ids["selfharm"],
        ids["threat"],
    }


def test_one_click_dismiss_claims_and_decides_in_one_step(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    csrf = login(client, "olga")
    item_id = seeded.data.item_of["gamble-1"]
    response = client.post(
        f"/items/{item_id}/dismiss",
        data={"csrf_token": csrf, "reason": "false_positive", "return_to": "/queue"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    assert "dismissed" in client.get("/queue").text, "the next page shows the outcome"
    with console.api.db.read_session() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None and item.status == "dismissed" and item.resolved_by == "olga"
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == item_id)).all()
    assert actions[-2:] == ["item.claimed", "item.dismissed"]


def test_a_refused_action_is_explained_not_applied(client: TestClient, seeded: SeededFolder) -> None:
    csrf = login(client, "olga")
    item_id = seeded.data.item_of["fraud"]
    response = client.post(f"/items/{item_id}/dismiss", data={"csrf_token": csrf, "reason": "out_of_jurisdiction"})
    assert response.status_code == 200
    assert "needs a note" in response.text, "the workflow's reason is shown to the officer"
    assert seeded.data.item_of["fraud"] in item_ids_in_order(client.get("/queue").text)


def test_someone_elses_claim_is_respected(client: TestClient, console: ConsoleContext, seeded: SeededFolder) -> None:
    item_id = seeded.data.item_of["fraud"]
    csrf = login(client, "olga")
    client.post(f"/items/{item_id}/claim", data={"csrf_token": csrf})
    client.cookies.clear()
    csrf = login(client, "oleg")
    page = client.post(f"/items/{item_id}/escalate", data={"csrf_token": csrf})
    assert "claimed by olga" in page.text
    with console.api.db.read_session() as session:
        assert session.get(ReviewItem, item_id).status == "claimed"  # type: ignore[union-attr]


def test_bulk_dismiss_and_duplicate(client: TestClient, console: ConsoleContext, seeded: SeededFolder) -> None:
    csrf = login(client, "olga")
    ids = seeded.data.item_of
    response = client.post(
        "/queue/bulk",
        data={"csrf_token": csrf, "action": "duplicate", "of": ids["gamble-1"], "item_id": [ids["gamble-2"]]},
    )
    assert "duplicate: 1 done" in response.text
    response = client.post(
        "/queue/bulk",
        data={
            "csrf_token": csrf,
            "action": "dismiss",
            "reason": "not_actionable",
            "item_id": [ids["gamble-1"], ids["fraud"]],
        },
    )
    assert "dismiss: 2 done" in response.text
    with console.api.db.read_session() as session:
        statuses = {i: session.get(ReviewItem, ids[i]).status for i in ("gamble-1", "gamble-2", "fraud")}  # type: ignore[union-attr]
    assert statuses == {"gamble-1": "dismissed", "gamble-2": "duplicate", "fraud": "dismissed"}


def test_item_page_explains_the_flag_and_shows_context(client: TestClient, seeded: SeededFolder) -> None:
    login(client, "olga")
    gas = client.get(f"/items/{seeded.data.item_of['gas']}").text
    assert '<mark class="evidence cat-public_hazard" title="public_hazard.seed: 燃气泄漏">燃气泄漏</mark>' in gas
    assert "risk-model:seed-1" in gas and "0.760" in gas, "the model and its score"
    assert "Near-duplicate copies 相似副本 (1)" in gas and "demo-weibo" in gas, "the copy from another source"
    assert 'rel="noopener noreferrer nofollow"' in gas and "http://demo-forum.test/t/gas#1" in gas
    assert "香坊派出所" in gas, "the jurisdiction by its unit's name"
    assert "item.created" in gas and "system:flag-stage" in gas, "the history"
    selfharm = client.get(f"/items/{seeded.data.item_of['selfharm']}").text
    assert "楼主别想不开" in selfharm, "the thread around the flagged floor"
