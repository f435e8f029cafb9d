"""Bad input in one pass: each bad source fails only what it carries, with the error recorded, and
the healthy source beside them lands everything.

One local server holds eleven small Discuz forums under `/s/NAME/`, each with one kind of trouble:
a page whose HTML stops half-way and one whose connection drops early, a 20 MB page, a lying
charset, an endless "next page" chain, a start page redirecting to another domain, a 429 with
`Retry-After` (one short, one too long to wait), 500s, a server that never answers, a section that
robots.txt disallows; and one healthy forum. Timeouts are short via settings.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.run import run_crawl
from crawlers.sources import load_sources
from crawlers.state import load_state
from patrol.schema import CrawlReport
from tests.fixtures.crawl.crawling import error_kinds, landed
from tests.fixtures.crawl.fake_site import FAST_SETTINGS, FakeSite, sources_yaml
from tests.fixtures.crawl.local_site import LocalSite, Page

pytestmark = pytest.mark.slow

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
SETTINGS = {
    **FAST_SETTINGS,
    "DOWNLOAD_TIMEOUT": 2,
    "RETRY_TIMES": 1,
    "RETRY_AFTER_MAX": 30,
    "PATROL_MAX_PAGINATION": 6,
}
FORUMS = ["healthy", "truncated", "huge", "lying", "redirect", "throttled", "broken", "hung", "robots"]


def small_forum(name: str) -> FakeSite:
    forum = FakeSite(NOW)
    for i in range(3):
        forum.add_thread(
            1,
            100 + i,
            f"{name}话题{i}",
            [f"{name}帖子{i}楼{k}" for k in range(1, 4)],
            start=NOW - timedelta(days=2, hours=i),
            step=timedelta(minutes=5),
        )
    return forum


def endless_list(path: str) -> Page:
    """A board whose every page links to one more page, each listing a thread never seen before."""
    page = int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])
    tid = 5000 + page
    body = (
        f'<table id="threadlisttableid"><tbody id="normalthread_{tid}"><tr><th class="common">'
        f'<a href="forum.php?mod=viewthread&amp;tid={tid}" class="s xst">无尽列表{page}</a></th>'
        '<td class="num"><a class="xi2">0</a><em>1</em></td></tr></tbody></table>'
        f'<div class="pg"><strong>{page}</strong>'
        f'<a href="forum.php?mod=forumdisplay&amp;fid=1&amp;page={page + 1}" class="nxt">下一页</a></div>'
    )
    return Page(f"<!DOCTYPE html><html><head><title>无尽</title></head><body>{body}</body></html>".encode())


def endless_thread(path: str) -> Page:
    tid = int(parse_qs(urlsplit(path).query)["tid"][0])
    body = (
        f'<span id="thread_subject">无尽列表{tid}</span><div id="post_{tid}0"><div class="authi">'
        f'<a class="xw1">过客</a></div><div class="authi"><em id="authorposton{tid}0">发表于 2026-11-27 10:00</em>'
        f'</div><table><tr><td class="t_f" id="postmessage_{tid}0">{html.escape(f"第{tid}帖")}</td></tr></table></div>'
    )
    return Page(f"<!DOCTYPE html><html><head><title>无尽</title></head><body>{body}</body></html>".encode())


@pytest.fixture
def server() -> Iterator[tuple[LocalSite, dict[str, FakeSite]]]:
    site = LocalSite(NOW)
    forums = {name: small_forum(name) for name in FORUMS}
    site.route("/robots.txt", Page(b"User-agent: *\nDisallow: /s/robots/\n", "text/plain"))
    for name, forum in forums.items():
        prefix = f"/s/{name}"

        def serve(path: str, forum: FakeSite = forum, prefix: str = prefix) -> Page:
            canned = forum.respond(path.removeprefix(prefix))
            return Page(canned.body, canned.content_type, canned.status)

        site.route_prefix(prefix + "/", serve)
    thread = "/forum.php?mod=viewthread&tid={}&page=1"
    # Truncated: one page's HTML stops mid-floor; another's connection drops before its announced length.
    whole = forums["truncated"].render_thread(100, 1)
    cut = whole.index(b'id="post_', whole.index(b'id="post_') + 1) + 200  # inside the second floor
    site.route("/s/truncated" + thread.format(100), Page(whole[:cut], "text/html; charset=gbk"))
    site.route(
        "/s/truncated" + thread.format(101),
        Page(forums["truncated"].render_thread(101, 1), "text/html; charset=gbk", cut_at=300),
    )
    # 20 MB: announced up front, over DOWNLOAD_MAXSIZE (10 MiB).
    site.route("/s/huge" + thread.format(100), Page(b"<p>" + b"x" * 65536, "text/html", repeat_to=20 * 1024 * 1024))
    # Lying charset: the header and the page say gb2312, the bytes are UTF-8.
    lying = forums["lying"].render_thread(100, 1).decode("gbk").replace("charset=gbk", "charset=gb2312").encode()
    site.route("/s/lying" + thread.format(100), Page(lying, "text/html; charset=gb2312"))
    # Endless: every list page has a next page with a new thread on it.
    site.route_prefix("/s/endless/forum.php?mod=forumdisplay", endless_list)
    site.route_prefix("/s/endless/forum.php?mod=viewthread", endless_thread)
    # Redirect to another domain ("localhost" is not the source's host, 127.0.0.1).
    site.route("/s/redirect/board.php", Page(b"", status=302, headers={"Location": "http://localhost:9/forum.php"}))
    # 429: once with a short Retry-After (waited for, then served), once with one too long to wait.
    site.route(
        "/s/throttled" + thread.format(100),
        Page(
            forums["throttled"].render_thread(100, 1),
            "text/html; charset=gbk",
            fail_first=1,
            status_first=429,
            headers_first={"Retry-After": "1"},
        ),
    )
    site.route(
        "/s/throttled" + thread.format(101),
        Page(b"", status=429, fail_first=99, status_first=429, headers_first={"Retry-After": "3600"}),
    )
    site.route("/s/broken" + thread.format(100), Page(b"<html>Internal Server Error</html>", "text/html", 500))
    site.route("/s/hung/forum.php", Page(b"", hang=True))
    site.start()
    yield site, forums
    site.stop()


def crawl_all(tmp_path: Path, entries: list[dict[str, Any]]) -> dict[str, CrawlReport]:
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(sources_yaml(entries), encoding="utf-8")
    sources = load_sources(sources_file)

    def one(source: Any) -> CrawlReport:
        return run_crawl(
            source, pass_id="p1", data_dir=tmp_path / "data", sources_file=sources_file, timeout_s=60, settings=SETTINGS
        )

    with ThreadPoolExecutor(max_workers=3) as pool:
        return {report.source_id: report for report in pool.map(one, sources)}


def test_each_bad_input_fails_only_its_own_part_and_is_recorded(tmp_path: Path, server: Any) -> None:
    site, _ = server
    base = site.base_url
    entries = [{"id": name, "kind": "discuz", "start_urls": [f"{base}/s/{name}/forum.php"]} for name in FORUMS]
    entries.append(
        {"id": "endless", "kind": "discuz", "start_urls": [f"{base}/s/endless/forum.php?mod=forumdisplay&fid=1"]}
    )
    next(e for e in entries if e["id"] == "redirect")["start_urls"].append(f"{base}/s/redirect/board.php")
    reports = crawl_all(tmp_path, entries)
    kinds = {source_id: error_kinds(report) for source_id, report in reports.items()}
    threads = {source_id: {p["thread_id"] for p in landed(report)} for source_id, report in reports.items()}

    # The healthy forum: everything, no errors.
    assert reports["healthy"].ok and kinds["healthy"] == {}
    assert len(landed(reports["healthy"])) == 9

    # Truncated: the cut HTML is reported and its thread is redone next pass; the dropped connection too.
    assert sorted(kinds["truncated"]) == ["truncated"] and len(kinds["truncated"]["truncated"]) == 2
    assert threads["truncated"] == {"100", "102"}  # 100: the floor before the cut; 101: nothing
    assert [p["floor"] for p in landed(reports["truncated"]) if p["thread_id"] == "100"] == [1]
    state = load_state(tmp_path / "data", "truncated")
    assert "100" not in state.threads and "101" not in state.threads and "102" in state.threads

    # 20 MB: refused by size, never downloaded; the other threads land.
    assert sorted(kinds["huge"]) == ["too_large"] and threads["huge"] == {"101", "102"}

    # Lying charset: reported, and read right.
    assert sorted(kinds["lying"]) == ["charset_mismatch"]
    lied = [p for p in landed(reports["lying"]) if p["thread_id"] == "100"]
    assert sorted(p["text"] for p in lied) == ["lying帖子0楼1", "lying帖子0楼2", "lying帖子0楼3"]

    # Endless next page: stopped by the pagination limit, the threads seen so far landed.
    assert sorted(kinds["endless"]) == ["trap"] and "endless pagination" in reports["endless"].errors[0].message
    assert len(threads["endless"]) == SETTINGS["PATROL_MAX_PAGINATION"]
    assert reports["endless"].ok

    # Redirect to another domain: not followed; the forum's own start page still crawled.
    assert sorted(kinds["redirect"]) == ["offsite"] and "localhost" in reports["redirect"].errors[0].message
    assert threads["redirect"] == {"100", "101", "102"}
    assert not any("localhost" in path for path in site.paths())

    # 429: the short Retry-After was waited for, then the page landed; the long one is given up and said.
    assert sorted(kinds["throttled"]) == ["http_status"] and threads["throttled"] == {"100", "102"}
    assert "Retry-After 3600s" in reports["throttled"].errors[0].message
    hits = [hit for hit in site.hits if hit.path == "/s/throttled" + "/forum.php?mod=viewthread&tid=100&page=1"]
    assert len(hits) == 2 and hits[1].at - hits[0].at >= 1.0

    # 500s: retried, then reported; the other threads land.
    assert sorted(kinds["broken"]) == ["http_status"] and threads["broken"] == {"101", "102"}
    broken_hits = [p for p in site.paths() if p == "/s/broken/forum.php?mod=viewthread&tid=100&page=1"]
    assert len(broken_hits) == 1 + SETTINGS["RETRY_TIMES"]

    # A server that never answers: a timeout, in seconds, and nothing else goes wrong.
    assert not reports["hung"].ok and sorted(kinds["hung"]) == ["timeout"]
    assert reports["hung"].finished_at is not None
    assert (reports["hung"].finished_at - reports["hung"].started_at).total_seconds() < 20

    # robots.txt disallows the section: nothing of it fetched.
    assert not reports["robots"].ok and sorted(kinds["robots"]) == ["robots_denied"]
    assert not any(path.startswith("/s/robots/") for path in site.paths())
