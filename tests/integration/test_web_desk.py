"""The desk pages over a real database: tasks with evidence upload, handover, search with saved
searches, trends, sources, and admin with its backtests."""

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
from patrol.workflow.models import VerificationTask
from patrol.workflow.worker import WorkflowWorker

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


def test_escalate_assign_and_complete_with_evidence(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    item_id = seeded.data.item_of["gas"]
    csrf = login(client, "olga")
    client.post(f"/items/{item_id}/escalate", data={"csrf_token": csrf, "instructions": "check the smell"})
    with console.api.db.read_session() as session:
        task = session.scalars(select(VerificationTask).where(VerificationTask.item_id == item_id)).one()
        task_id = task.id
    assert task.unit_id == "xf-xiangfang" and task.priority == "high"
    client.cookies.clear()
    csrf = login(client, "sam")
    board = client.get("/tasks").text
    assert task_id in board and "香坊派出所" in board
    client.post(f"/tasks/{task_id}/reassign", data={"csrf_token": csrf, "unit": "xf-heping", "reason": "closer"})
    client.cookies.clear()
    csrf = login(client, "heping")
    assert task_id in client.get("/my-tasks").text
    page = client.get(f"/tasks/{task_id}").text
    assert "燃气泄漏" in page and "check the smell" in page, "the unit sees what to verify"
    for step in ("accept", "start"):
        client.post(f"/tasks/{task_id}/{step}", data={"csrf_token": csrf})
    client.post(f"/tasks/{task_id}/findings", data={"csrf_token": csrf, "text": "valve left open, closed it"})
    upload = client.post(
        f"/tasks/{task_id}/evidence",
        data={"csrf_token": csrf},
        files={"file": ("valve.png", PNG, "image/png")},
    )
    assert "Evidence valve.png stored" in upload.text
    done = client.post(f"/tasks/{task_id}/complete", data={"csrf_token": csrf, "outcome": "confirmed"})
    assert "completed: confirmed" in done.text
    link = re.search(r'href="(/tasks/[^"]+/evidence/[^"]+)"', done.text)
    assert link is not None
    download = client.get(link.group(1))
    assert download.content == PNG and download.headers["content-type"] == "application/octet-stream"
    assert "attachment" in download.headers["content-disposition"]
    client.cookies.clear()
    login(client, "qunli")
    assert client.get(f"/tasks/{task_id}").status_code == 404, "another unit learns nothing of it"


def test_handover_notes_then_acknowledge_after_the_shift_change(
    client: TestClient, console: ConsoleContext, clock: ManualClock
) -> None:
    csrf = login(client, "olga")
    client.post("/handover/notes", data={"csrf_token": csrf, "text": "watch the 阳台 thread"})
    assert "watch the 阳台 thread" in client.get("/handover").text
    clock.advance(hours=3)  # 00:05 Asia/Shanghai: the evening shift has ended
    report = WorkflowWorker(console.api.db, console.api.policy, clock).tick()
    handover_id = report.handovers[-1]
    client.cookies.clear()
    csrf = login(client, "oleg")
    page = client.get("/handover").text
    assert handover_id in page and "watch the 阳台 thread" in page and "Life-safety items still open (2)" in page
    acknowledged = client.post(f"/handover/{handover_id}/acknowledge", data={"csrf_token": csrf})
    assert f"Handover {handover_id} acknowledged" in acknowledged.text
    assert "acknowledged by oleg" in acknowledged.text


def test_search_filters_snippets_and_saved_searches(client: TestClient) -> None:
    csrf = login(client, "olga")
    page = client.get("/search", params={"q": "燃气泄漏"}).text
    assert "<mark>燃气泄漏</mark>" in page and "demo-weibo" in page
    only_weibo = client.get("/search", params={"q": "燃气泄漏", "source": "demo-weibo"}).text
    assert re.search(r"<strong>1</strong> posts", only_weibo)
    saved = client.post(
        "/search/saved",
        data={"csrf_token": csrf, "name": "gas leaks", "query_string": "q=燃气泄漏&source=demo-weibo&evil=1"},
    )
    assert "Saved as “gas leaks”" in saved.text
    link = re.search(r'<a href="(/search\?[^"]+)">gas leaks</a>', saved.text)
    assert link is not None and "evil" not in link.group(1)


def test_trends_and_sources_render_for_an_analyst(client: TestClient) -> None:
    login(client, "ana")
    trends = client.get("/trends?days=1")
    assert trends.status_code == 200
    assert trends.text.count("<svg") >= 4 and "<polyline" in trends.text
    assert "群力派出所" in trends.text, "the per-jurisdiction table"
    sources = client.get("/sources").text
    assert "demo-forum" in sources and "degraded" in sources, "a source with no crawl on record is degraded"


def test_admin_backtests_a_threshold_before_saving_it(
    client: TestClient, console: ConsoleContext, tmp_path: Path
) -> None:
    csrf = login(client, "root")
    form = {
        "csrf_token": csrf,
        **{
            f"t_{c}": "0.5"
            for c in (
                "violence_threat",
                "self_harm",
                "weapons",
                "fraud",
                "drugs",
                "public_hazard",
                "cyber_violence",
            )
        },
        "t_gambling": "0.69",
    }
    preview = client.post("/admin/thresholds/preview", data=form).text
    row = re.search(
        r"<td>gambling 赌博</td>\s*<td>([^<]+)(?:→ <strong>([^<]+)</strong>)?</td>\s*"
        r"<td>(\d+)</td><td><strong>(\d+)</strong></td><td>(\d+)</td><td>(\d+)</td>",
        preview,
    )
    assert row is not None, preview[:3000]
    assert (row.group(3), row.group(4), row.group(6)) == ("2", "1", "1"), "one of the two spam posts drops out"
    assert "注册就送彩金" in preview, "with the example that would no longer be flagged"
    saved = client.post("/admin/thresholds/save", data=form)
    assert "Thresholds saved to" in saved.text and "PATROL_THRESHOLDS_FILE" in saved.text
    written = console.editable_config_dir / "thresholds.yaml"
    assert "gambling: 0.69" in written.read_text(encoding="utf-8")


def test_admin_backtests_a_rule_change(client: TestClient) -> None:
    csrf = login(client, "root")
    rules = client.get("/admin/rules").text
    rule_id = re.search(r'<option value="(weapons\.[^"]+)"', rules)
    assert rule_id is not None
    preview = client.post(
        "/admin/rules/preview", data={"csrf_token": csrf, "rule_id": rule_id.group(1), "weight": "0.01"}
    )
    assert preview.status_code == 200 and "Backtest: last 7 days" in preview.text
    assert re.search(r"\d+ posts scanned", preview.text)


def test_admin_creates_an_account(client: TestClient) -> None:
    csrf = login(client, "root")
    made = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "nina",
            "password": "long enough pw",
            "role": "field_unit",
            "unit_id": "dl-qunli",
        },
    )
    assert "Account nina (field_unit) created" in made.text
    client.cookies.clear()
    login(client, "nina", "long enough pw")
    assert client.get("/my-tasks").status_code == 200
