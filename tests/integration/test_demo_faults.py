"""The demo site's fault endpoints (bad input for crawler tests) and its command line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import html as lxml_html

from demo.server import DemoSite

REPO = Path(__file__).resolve().parents[2]


def fetch(url: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(seed=7, threads=60) as running:
        yield running


def _thread_links(site: DemoSite, prefix: str, encoding: str) -> list[str]:
    _, _, body = fetch(f"{site.base_url}{prefix}/forum.php")
    index = lxml_html.fromstring(body.decode(encoding))
    board = index.xpath('//td[@class="fl_g"]/dl/dt/a/@href')
    assert len(board) == 1, "a fault forum shows one board"
    _, _, listing = fetch(f"{site.base_url}{prefix}/{board[0]}")
    return lxml_html.fromstring(listing.decode(encoding)).xpath('//a[@class="s xst"]/@href')


def test_garbage_forum_serves_binary_and_non_html_as_text_html(site: DemoSite) -> None:
    links = _thread_links(site, "/fault/garbage", "gb18030")
    assert len(links) == 3
    bodies = []
    for link in links:
        status, headers, body = fetch(f"{site.base_url}/fault/garbage/{link}")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=gbk"
        bodies.append(body)
    assert b"\x00" in bodies[0] and b"<html" not in bodies[0]
    assert bodies[1].startswith(b"%PDF-") and b"<html" not in bodies[1]
    assert 'id="thread_subject"' in bodies[2].decode("gb18030")


def test_lying_charset_forum_is_utf8_behind_a_gb2312_label(site: DemoSite) -> None:
    links = _thread_links(site, "/fault/lying-charset", "utf-8")
    assert len(links) == 5
    tid = int(links[0].rsplit("=", 1)[1])
    status, headers, body = fetch(f"{site.base_url}/fault/lying-charset/{links[0]}")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=gb2312"
    assert b'content="text/html; charset=gb2312"' in body
    text = body.decode("utf-8")
    thread = site.content.thread(tid)
    assert thread.title in text and thread.floors[0].text.split("\n")[0] in text
    assert thread.title not in body.decode("gb18030", errors="replace"), "trusting the label must garble it"
    status, _, _ = fetch(f"{site.base_url}/fault/lying-charset/forum.php?mod=viewthread&tid=1")
    assert status == 404, "only the listed threads exist on a fault forum"


def test_empty_api_answers(site: DemoSite) -> None:
    status, headers, body = fetch(f"{site.base_url}/fault/api/empty?containerid=1076036512340001")
    assert (status, body) == (200, b"") and headers["Content-Type"].startswith("application/json")
    status, _, body = fetch(f"{site.base_url}/fault/api/emptyjson")
    assert status == 200 and json.loads(body) == {}
    assert fetch(f"{site.base_url}/fault/status/500")[0] == 500
    assert fetch(f"{site.base_url}/fault/status/503")[0] == 503
    assert site.requests_served["/fault/status"] >= 2


def test_slow_endpoint_holds_the_client_and_stop_releases_it() -> None:
    site = DemoSite(threads=6)
    site.start()
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        fetch(f"{site.base_url}/fault/slow", timeout=1.0)
    outcome: list[str] = []

    def hold() -> None:
        try:
            fetch(f"{site.base_url}/fault/slow/forum.php", timeout=60)
            outcome.append("answered")
        except Exception as error:  # the connection is dropped when the site stops
            outcome.append(type(error).__name__)

    waiting = threading.Thread(target=hold)
    waiting.start()
    time.sleep(0.3)
    started = time.perf_counter()
    site.stop()
    waiting.join(timeout=5)
    assert not waiting.is_alive(), "a held request must end when the site stops"
    assert time.perf_counter() - started < 5
    assert outcome and outcome != ["answered"]


def test_command_line_serves_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "demo", "--port", "0", "--threads", "6", "--fixed-clock"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "demo site serving at http://127.0.0.1:" in line, line + (
            process.stderr.read() if process.stderr else ""
        )
        base = line.split("serving at ", 1)[1].split("/ ", 1)[0]
        status, headers, _ = fetch(base + "/forum.php")
        assert status == 200 and headers["Date"] == "Sat, 28 Nov 2026 02:00:00 GMT"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
