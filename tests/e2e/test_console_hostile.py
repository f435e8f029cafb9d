"""Hostile crawled content stays inert in a real browser, and CSRF and role violations are refused.

The seeded posts carry <script>, <img onerror>, <svg onload>, a javascript: link and bidi
overrides; on every page they appear in, no dialog may open, no element they describe may exist,
and their text must still be readable as text.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from patrol.web.testing import XSS_IMG
from patrol.workflow.models import ReviewItem
from tests.e2e.conftest import LiveConsole, WatchedPage, log_in

pytestmark = pytest.mark.browser

INJECTED = """() => ({
  inlineScripts: document.querySelectorAll('script:not([src])').length,
  foreignScripts: Array.from(document.scripts).filter(s => !s.src.endsWith('/static/console.js')).length,
  handlers: document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover]').length,
  images: document.querySelectorAll('img').length,
  svgInMain: document.querySelectorAll('main svg:not(.chart)').length,
  scriptLinks: Array.from(document.querySelectorAll('a[href]'))
    .filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
  ran: typeof window.__patrol_xss !== 'undefined',
  bidi: /[\\u202a-\\u202e\\u2066-\\u2069]/.test(document.body.innerText),
})"""


def assert_inert(watched: WatchedPage) -> None:
    found = watched.page.evaluate(INJECTED)
    assert found == {
        "inlineScripts": 0,
        "foreignScripts": 0,
        "handlers": 0,
        "images": 0,
        "svgInMain": 0,
        "scriptLinks": 0,
        "ran": False,
        "bidi": False,
    }, watched.page.url
    assert watched.dialogs == [], watched.dialogs


def test_hostile_posts_stay_inert_on_every_page(live: LiveConsole, watched: WatchedPage) -> None:
    page, base = watched.page, live.url
    log_in(page, base, "sam")
    item = live.item("xss-gun")
    for path in ("/queue", f"/items/{item}", "/search?q=枪支", "/search?q=骗人", "/queue?category=weapons"):
        page.goto(base + path)
        page.wait_for_timeout(300)  # give any injected handler the chance to fire
        assert_inert(watched)
    page.goto(f"{base}/items/{item}")
    text = page.locator("#post-text").inner_text()
    assert '<script>window.__patrol_xss = 1; alert("xss-script")</script>' in text, "readable as text"
    assert page.locator("#post-text mark.evidence").inner_text() == "出售枪支"
    assert XSS_IMG in page.locator("section.thread").inner_text()
    assert page.locator("p.source-link a").count() == 0, "a javascript: source is not a link"
    # The escalated item's task page (shown to the field unit) and the handover show it inert too.
    page.click("form.act-escalate button[data-action=escalate]")
    page.goto(f"{base}/tasks")
    page.click("article.task-card a[href^='/tasks/']")
    assert_inert(watched)
    assert "<svg/onload" in page.locator("section[aria-label='what was reported']").inner_text()
    assert watched.console_errors == []


class _EvilSite:
    """A page on another origin that posts a form to the console as soon as it loads."""

    def __init__(self, target: str, csrf_token: str) -> None:
        body = (
            f'<form id="f" method="post" action="{target}"><input name="csrf_token" value="{csrf_token}">'
            '</form><script>document.getElementById("f").submit()</script>'
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        # Another origin: a different host name and port than the console's 127.0.0.1.
        self.url = f"http://localhost:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def evil_site(live: LiveConsole) -> Iterator[Any]:
    sites: list[_EvilSite] = []

    def make(target: str, token: str) -> _EvilSite:
        sites.append(_EvilSite(target, token))
        return sites[-1]

    yield make
    for site in sites:
        site.close()


def test_a_cross_site_form_cannot_act_for_a_logged_in_officer(
    live: LiveConsole, watched: WatchedPage, evil_site: Any
) -> None:
    page, base = watched.page, live.url
    log_in(page, base, "olga")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "patrol_csrf")
    item = live.item("fraud")
    site = evil_site(f"{base}/items/{item}/claim", token)  # even knowing the token does not help
    response = page.goto(site.url)
    page.wait_for_load_state("load")
    assert response is not None
    assert page.url.startswith(f"{base}/items/{item}/claim")
    assert "You hold item" not in page.content()
    with live.running.context.api.db.read_session() as session:
        assert session.get(ReviewItem, item).status == "new"  # type: ignore[union-attr]


def test_a_field_unit_cannot_open_the_queue_or_an_item(live: LiveConsole, watched: WatchedPage) -> None:
    page, base = watched.page, live.url
    log_in(page, base, "heping")
    assert page.url.endswith("/my-tasks")
    assert page.locator("header nav a[href='/queue']").count() == 0, "no link to what it may not see"
    for path in ("/queue", f"/items/{live.item('selfharm')}", "/search?q=x", "/admin"):
        response = page.goto(base + path)
        assert response is not None and response.status == 403, path
        assert "Not allowed" in page.locator("main h1").inner_text()
