"""The discuz spider on a real Discuz! X3.2 thread list, with the demo site's thread pages behind it.

The list is `../shared/data/pages/news/test_list_page/netease_forum/1.html`, served with its own
bytes at `forum-9-1.html` (its rewritten URL style). Its next page, `forum-9-2.html`, answers the
same list again, as a site ignoring the page number does: the spider must notice the loop. Each
listed thread's pages are a demo-site thread (GBK, the demo's markup and clock), so the floors
landed can be checked against the demo's content: author, time and text of floor N, quotes apart.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from parsel import Selector

from crawlers.encoding import decode_page
from crawlers.parsers.discuz import parse_thread_list
from crawlers.state import load_state
from demo.server import DemoSite
from tests.fixtures.crawl.crawling import crawl_entry, error_kinds, landed
from tests.fixtures.crawl.local_site import LocalSite, Page, file_page

pytestmark = pytest.mark.shared_data

SHANGHAI = timezone(timedelta(hours=8))
#: The real list was saved on 2020-08-02 around 16:00 Beijing time: its clock.
LIST_SAVED = datetime(2020, 8, 2, 16, 0, tzinfo=SHANGHAI)
ROBOTS = Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain")


@pytest.fixture(scope="module")
def real_list(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages").resolve()
    page = path / "news" / "test_list_page" / "netease_forum" / "1.html"
    if not page.exists():
        pytest.skip(f"../shared/data absent: {page} (a real Discuz! X3.2 thread list) is needed")
    return page


@pytest.fixture
def forum(real_list: Path) -> Iterator[tuple[LocalSite, DemoSite, dict[str, int]]]:
    listing = parse_thread_list(Selector(text=decode_page(real_list.read_bytes()).text), "http://x/", LIST_SAVED)
    demo_of = {row.tid: index + 1 for index, row in enumerate(listing.threads)}  # real tid -> demo tid
    with DemoSite(seed=7, threads=60) as demo:
        site = LocalSite(LIST_SAVED)
        list_page = file_page(real_list, "text/html; charset=utf-8", modified=LIST_SAVED.astimezone(UTC))
        site.route("/robots.txt", ROBOTS)
        site.route("/forum-9-1.html", list_page)
        site.route("/forum-9-2.html", list_page)  # the site ignores the page number

        def thread_page(path: str) -> Page | None:
            query = parse_qs(urlsplit(path).query)
            tid = query.get("tid", ["0"])[0]
            demo_tid = demo_of.get(tid, int(tid) if tid.isdigit() and int(tid) <= 60 else 0)
            target = f"{demo.base_url}/forum.php?mod=viewthread&tid={demo_tid}&page={query.get('page', ['1'])[0]}"
            with urllib.request.urlopen(target) as answer:  # the demo's bytes and clock, as served
                return Page(
                    answer.read(),
                    answer.headers["Content-Type"],
                    date=parsedate_to_datetime(answer.headers["Date"]),
                )

        site.route_prefix("/forum.php?mod=viewthread", thread_page)
        site.start()
        yield site, demo, demo_of
        site.stop()


def test_real_list_sticky_and_normal_threads_floors_and_a_loop(tmp_path: Path, forum: Any) -> None:
    site, demo, demo_of = forum
    entry = {"id": "netease", "kind": "discuz", "start_urls": [f"{site.base_url}/forum-9-1.html"]}

    first = crawl_entry(tmp_path, entry, "p1")
    assert first.ok, first.errors
    kinds = error_kinds(first)
    assert sorted(kinds) == ["trap"]  # page 2 repeats page 1: noticed, not followed further
    assert "same 42 items" in first.errors[0].message
    paths = site.take_paths()
    first_pages = {parse_qs(urlsplit(p).query)["tid"][0] for p in paths if "viewthread" in p and "page=1" in p}
    assert set(demo_of) <= first_pages  # all 42 threads, the 2 sticky ones included
    assert {"202823", "187479"} <= first_pages
    assert paths.count("/forum-9-2.html") == 1

    posts = landed(first)
    by_thread: dict[str, list[dict[str, Any]]] = {}
    for post in posts:
        by_thread.setdefault(post["thread_id"], []).append(post)
    assert set(by_thread) == set(demo_of)
    # Thread 202643 ("新买的机子老出现游戏卡屏或卡崩" on the list) is demo thread 3 behind it.
    demo_thread = demo.content.thread(demo_of["202643"])
    floors = sorted(by_thread["202643"], key=lambda p: p["floor"])
    assert [p["floor"] for p in floors] == [f.number for f in demo_thread.floors]
    for got, want in zip(floors, demo_thread.floors, strict=True):
        assert got["author"] == want.author.name
        assert got["text"] == want.text
        assert datetime.fromisoformat(got["published_at"]) == want.posted_at.astimezone(UTC).replace(second=0)
    assert floors[0]["thread_title"] == demo_thread.title  # the thread page's own subject
    quoted = [
        (post, floor)
        for tid, demo_tid in demo_of.items()
        for floor in demo.content.thread(demo_tid).floors
        if floor.quote is not None
        for post in by_thread[tid]
        if post["floor"] == floor.number
    ]
    assert quoted, "the demo threads behind the list hold quoting replies"
    for post, floor in quoted:
        assert floor.quote is not None
        assert post["quote"] == floor.quote.text and post["text"] == floor.text

    # State keeps the real list's numbers: reply count and exact last-post time.
    state = load_state(tmp_path / "data", "netease")
    assert state.threads["202643"].replies == 22
    assert state.threads["202643"].last_post_at == datetime(2020, 8, 2, 13, 11, tzinfo=SHANGHAI)

    second = crawl_entry(tmp_path, entry, "p2")
    assert second.ok and second.items == 0 and second.batches == []
    assert sorted(site.take_paths()) == ["/forum-9-1.html", "/robots.txt"]
