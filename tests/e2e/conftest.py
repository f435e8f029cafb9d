"""Browser tests: the console served on a loopback port, driven by Debian's chromium via Playwright.

Each test gets a fresh page that records every JavaScript dialog (a hostile post that manages to
run script would open one), and leaves a screenshot in tests/artifacts/ when it ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from patrol.web.app import create_console_app
from patrol.web.build import RunningConsole, run_in_thread
from patrol.web.testing import SHIFT_START, SeededFolder, console_for_tests, copy_folder, make_seeded_folder
from patrol.workflow.clock import ManualClock

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@dataclass
class LiveConsole:
    running: RunningConsole
    clock: ManualClock
    seeded: SeededFolder

    @property
    def url(self) -> str:
        return self.running.url.rstrip("/")

    def item(self, key: str) -> str:
        return self.seeded.data.item_of[key]


@dataclass
class WatchedPage:
    page: Any
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM}: `apt-get install chromium` (CI's .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def seeded_folder(tmp_path_factory: pytest.TempPathFactory) -> SeededFolder:
    return make_seeded_folder(tmp_path_factory.mktemp("seeded"))


@pytest.fixture
def live(seeded_folder: SeededFolder, tmp_path: Path, browser: Any) -> Iterator[LiveConsole]:
    clock = ManualClock(SHIFT_START)
    context = console_for_tests(copy_folder(seeded_folder, tmp_path / "data"), clock)
    context.queue_refresh_s = 1
    running = run_in_thread(create_console_app(context), context, host="127.0.0.1", port=0, with_worker=False)
    yield LiveConsole(running=running, clock=clock, seeded=seeded_folder)
    running.stop()


@pytest.fixture
def watched(browser: Any, request: pytest.FixtureRequest) -> Iterator[WatchedPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    watched = WatchedPage(page=page)

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda message: watched.console_errors.append(message.text) if message.type == "error" else None,
    )
    yield watched
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    for index, open_page in enumerate(context.pages):
        suffix = "" if index == 0 else f"-{index}"
        open_page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
    context.close()


def log_in(page: Any, base: str, username: str, password: str = "a long enough password") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert "/login" not in page.url, f"{username} could not log in"


def log_out(page: Any) -> None:
    page.click("header form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login$"))


def snapshot(page: Any, name: str) -> None:
    """Keep a screenshot of a step of a long test (the fixture keeps the last one anyway)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
