"""A whole night shift in the browser: the officer triages (keyboard and one click), a new
life-safety item arrives live, the reviewer assigns the task, the field unit completes it with
evidence, the handover is written and acknowledged, and a search is run and saved."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from patrol.web.testing import SeedPost, seed
from patrol.workflow.models import ReviewItem, VerificationTask
from patrol.workflow.worker import WorkflowWorker
from tests.e2e.conftest import LiveConsole, WatchedPage, log_in, log_out, snapshot

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def flash(watched: WatchedPage) -> str:
    text: str = watched.page.locator(".flash").first.inner_text()
    return text


def test_a_whole_shift(live: LiveConsole, watched: WatchedPage) -> None:
    page, base = watched.page, live.url
    context = live.running.context

    # -- the officer ---------------------------------------------------------------------------
    log_in(page, base, "olga")
    assert page.url.endswith("/queue")
    rows = page.locator("tr.item-row")
    assert rows.first.get_attribute("data-item-id") == live.item("selfharm"), "life-safety first"
    assert "life-safety" in (rows.first.get_attribute("class") or "")
    # Its acknowledgement timer ticks against the server's clock (5 minutes from the flag).
    page.wait_for_timeout(1200)
    assert re.fullmatch(r"acknowledge: [45]m \d\ds left", rows.first.locator(".countdown").inner_text())

    # A new life-safety post arrives while the queue is open: it shows up without a reload.
    arrived = seed(
        context,
        [
            SeedPost(
                "selfharm-live",
                "活着没意思，我准备今晚吃药结束这一切",
                "self_harm",
                "吃药",
                score=0.9,
                jurisdiction="ng-xuefu",
                minutes_ago=1,
            )
        ],
        now=live.clock.now(),
    )
    new_item = arrived.item_of["selfharm-live"]
    page.wait_for_selector(f"tr[data-item-id='{new_item}']", timeout=15_000)
    assert page.title().startswith("⚠"), "the tab says a new life-safety item came in"
    snapshot(page, "shift-1-queue-live")

    # Keyboard: the first row is selected; `a` acknowledges it.
    page.locator("body").press("a")
    page.wait_for_load_state("load")
    assert "acknowledged" in flash(watched)

    # Open the life-safety item, read why it was flagged, escalate it as a welfare check.
    page.goto(f"{base}/items/{live.item('selfharm')}")
    assert page.locator("#post-text mark.evidence").inner_text() == "跳下去"
    assert "self_harm.seed" in page.locator("section.why").inner_text()
    assert "楼主别想不开" in page.locator("section.thread").inner_text()
    snapshot(page, "shift-2-item")
    page.fill("form.act-escalate input[name=instructions]", "welfare check at the balcony address")
    page.click("form.act-escalate button[data-action=escalate]")
    assert re.search(r"escalated: task vt-\w+ \(urgent\) for xf-heping", flash(watched))

    # One click escalates another item from the queue.
    gas = live.item("gas")
    page.click(f"tr[data-item-id='{gas}'] form.act-escalate button")
    assert f"Item {gas} escalated" in flash(watched) and "xf-xiangfang" in flash(watched)

    # Keyboard: select the gambling spam and dismiss it with the first reason (`1`).
    spam = live.item("gamble-1")
    page.click(f"tr[data-item-id='{spam}'] td.preview")
    page.locator("body").press("1")
    page.wait_for_load_state("load")
    assert f"Item {spam} dismissed (false_positive)" in flash(watched)

    # A note for the handover.
    page.goto(f"{base}/handover")
    page.fill("#note-form textarea", "阳台 thread escalated; gas task with 香坊派出所")
    page.click("#note-form button")
    assert "阳台 thread escalated" in page.locator("#shift-notes").inner_text()
    log_out(page)

    # -- the reviewer assigns the gas task to the unit next door -------------------------------
    with context.api.db.read_session() as session:
        gas_task = session.scalars(select(VerificationTask).where(VerificationTask.item_id == gas)).one().id
    log_in(page, base, "sam")
    page.goto(f"{base}/tasks")
    card = page.locator(f"article[data-task-id='{gas_task}']")
    snapshot(page, "shift-3-task-board")
    card.locator("select[name=unit]").select_option("xf-heping")
    card.locator("input[name=reason]").fill("nearest patrol car")
    card.locator("button").click()
    assert f"Task {gas_task} now with xf-heping" in flash(watched)
    log_out(page)

    # -- the field unit verifies and completes with evidence -----------------------------------
    log_in(page, base, "heping")
    assert page.url.endswith("/my-tasks")
    assert page.locator("table.tasks tbody tr").count() == 2, "the welfare check and the gas task"
    page.click(f"a[href='/tasks/{gas_task}']")
    assert "燃气泄漏" in page.locator("section[aria-label='what was reported']").inner_text()
    page.click("button[data-action=accept]")
    page.click("button[data-action=start]")
    page.fill("#finding-form textarea", "valve in stairwell left open; closed it, aired the flat")
    page.click("#finding-form button")
    page.set_input_files(
        "#evidence-form input[name=file]",
        files=[{"name": "valve.png", "mimeType": "image/png", "buffer": PNG}],
    )
    page.click("#evidence-form button")
    assert "Evidence valve.png stored" in flash(watched)
    page.select_option("#complete-form select[name=outcome]", "confirmed")
    page.click("#complete-form button")
    assert f"Task {gas_task} completed: confirmed" in flash(watched)
    assert hashlib.sha256(PNG).hexdigest() in page.locator("code.hash").inner_text()
    snapshot(page, "shift-4-task-completed")
    log_out(page)

    # -- midnight: the worker writes the handover; the incoming officer acknowledges it --------
    live.clock.advance(timedelta(hours=3))
    handover_id = WorkflowWorker(context.api.db, context.api.policy, live.clock).tick().handovers[-1]
    log_in(page, base, "oleg")
    page.goto(f"{base}/handover")
    block = page.locator(f"section[data-handover-id='{handover_id}']")
    assert "阳台 thread escalated" in block.inner_text()
    block.locator("button[data-action=acknowledge-handover]").click()
    assert f"Handover {handover_id} acknowledged" in flash(watched)
    assert "acknowledged by oleg" in page.locator(f"section[data-handover-id='{handover_id}']").inner_text()
    snapshot(page, "shift-5-handover")

    # -- and a search, saved for the next night ---------------------------------------------
    page.goto(f"{base}/search")
    page.fill("#search-form input[name=q]", "燃气泄漏")
    page.click("#search-form button")
    assert page.locator(".hit .snippet mark").first.inner_text() == "燃气泄漏"
    page.fill("#save-search input[name=name]", "gas leaks")
    page.click("#save-search button")
    assert page.locator("aside.saved a", has_text="gas leaks").count() == 1

    with context.api.db.read_session() as session:
        statuses = {k: session.get(ReviewItem, live.item(k)).status for k in ("selfharm", "gas", "gamble-1")}  # type: ignore[union-attr]
    assert statuses == {"selfharm": "escalated", "gas": "escalated", "gamble-1": "dismissed"}
    assert watched.dialogs == []
    assert watched.console_errors == [], "no CSP violations or script errors on any page"
