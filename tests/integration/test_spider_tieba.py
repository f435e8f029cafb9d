"""The tieba spider on real Tieba pages served locally.

- A bar: the real list `../shared/data/pages/tieba/tieba_note_list.html` (48 threads, hidden in
  Tieba's `pagelet_html` comments), with each listed thread answered by a self-written page in
  Tieba's markup. The list's next page is on tieba.baidu.com: off the source's domain, refused.
- A thread followed on its own: the real `note_detail.html` (page 1 of 13), whose "下一页" link
  leads to a self-written last page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawlers.state import load_state
from tests.fixtures.crawl.crawling import crawl_entry, error_kinds, landed
from tests.fixtures.crawl.local_site import LocalSite, Page, file_page
from tests.fixtures.crawl.tieba_pages import TiebaFloor, TiebaReply, render_thread_page

pytestmark = pytest.mark.shared_data

SHANGHAI = timezone(timedelta(hours=8))
LIST_SAVED = datetime(2024, 8, 8, 11, 30, tzinfo=SHANGHAI)  # the list's newest reply is "11:24" that day
THREAD_SAVED = datetime(2024, 8, 6, 12, 0, tzinfo=SHANGHAI)
BAR = "/f?kw=%E7%9B%97%E5%A2%93%E7%AC%94%E8%AE%B0&ie=utf-8&pn=0"
LONG_TID = 9079949995  # first on the list; given 35 floors here: two pages
REAL_TID = 9117905169
ROBOTS = Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain")


def tieba_dir() -> Path:
    path = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "tieba").resolve()
    if not (path / "tieba_note_list.html").exists():
        pytest.skip(f"../shared/data absent: {path} holds the real Tieba pages")
    return path


class Bar:
    """The threads behind the real list: mutable, so a pass can find a new reply."""

    def __init__(self) -> None:
        self.threads: dict[int, list[TiebaFloor]] = {}
        self.pid = 5_000_000

    def thread(self, tid: int) -> list[TiebaFloor]:
        if tid not in self.threads:
            count = 35 if tid == LONG_TID else 2
            start = LIST_SAVED - timedelta(days=2)
            self.threads[tid] = [self._floor(n, start + timedelta(minutes=7 * n)) for n in range(1, count + 1)]
            if tid == LONG_TID:
                self.threads[tid][1].replies.append(
                    TiebaReply(9_000_001, "楼中楼网友", start + timedelta(hours=3), "同意楼上")
                )
        return self.threads[tid]

    def _floor(self, number: int, at: datetime) -> TiebaFloor:
        self.pid += 1
        return TiebaFloor(self.pid, number, f"吧友{number % 5}", at, f"第{number}楼<br>哈尔滨道里区")

    def add_floor(self, tid: int, text: str) -> TiebaFloor:
        floors = self.thread(tid)
        floor = self._floor(floors[-1].number + 1, LIST_SAVED - timedelta(minutes=1))
        floor.text = text
        floors.append(floor)
        return floor


@pytest.fixture
def tieba() -> Iterator[tuple[LocalSite, Bar, dict[str, bytes]]]:
    folder = tieba_dir()
    bar = Bar()
    site = LocalSite(LIST_SAVED)
    served = {"list": (folder / "tieba_note_list.html").read_bytes()}
    site.route("/robots.txt", ROBOTS)
    site.route(BAR, lambda path: Page(served["list"], "text/html; charset=UTF-8"))
    site.route(
        f"/p/{REAL_TID}",
        file_page(folder / "note_detail.html", "text/html; charset=UTF-8", modified=THREAD_SAVED.astimezone(UTC)),
    )
    site.routes[f"/p/{REAL_TID}"].date = THREAD_SAVED  # type: ignore[union-attr]
    last_page = [
        TiebaFloor(150730000000 + n, n, f"后来者{n}", THREAD_SAVED - timedelta(hours=1), f"第{n}楼") for n in (43, 44)
    ]
    site.route(
        f"/p/{REAL_TID}?pn=2", Page(render_thread_page(REAL_TID, "对于一个父亲来说", last_page, 1), date=THREAD_SAVED)
    )

    def thread(path: str) -> Page | None:
        tid_text, _, query = path.removeprefix("/p/").partition("?")
        page = int(query.removeprefix("pn=")) if query.startswith("pn=") else 1
        tid = int(tid_text)
        return Page(render_thread_page(tid, f"帖子{tid}", bar.thread(tid), page), "text/html; charset=UTF-8")

    site.route_prefix("/p/", thread)
    site.start()
    yield site, bar, served
    site.stop()


def test_real_bar_list_threads_in_floor_replies_and_incremental_passes(tmp_path: Path, tieba: Any) -> None:
    site, bar, served = tieba
    entry = {"id": "daomu_bar", "kind": "tieba", "start_urls": [site.base_url + BAR]}

    first = crawl_entry(tmp_path, entry, "p1")
    assert first.ok, first.errors
    assert sorted(error_kinds(first)) == ["offsite"]  # the list's next page is on tieba.baidu.com
    assert "tieba.baidu.com" in first.errors[0].message
    paths = site.take_paths()
    thread_paths = [p for p in paths if p.startswith("/p/")]
    assert len({p.partition("?")[0] for p in thread_paths}) == 48
    assert f"/p/{LONG_TID}?pn=2" in thread_paths

    posts = landed(first)
    long_thread = sorted((p for p in posts if p["thread_id"] == str(LONG_TID)), key=lambda p: (p["kind"], p["floor"]))
    floors = [p for p in long_thread if p["kind"] == "tieba_post"]
    assert [p["floor"] for p in floors] == list(range(1, 36))
    assert floors[30]["text"] == "第31楼\n哈尔滨道里区"
    assert floors[30]["author"] == "吧友1"
    assert floors[0]["title"] == f"帖子{LONG_TID}" and floors[0]["reply_count"] == 18  # the list's count
    (reply,) = [p for p in long_thread if p["kind"] == "comment"]
    assert (reply["floor"], reply["author"], reply["text"]) == (2, "楼中楼网友", "同意楼上")
    assert reply["quote"] == "第2楼\n哈尔滨道里区"
    assert load_state(tmp_path / "data", "daomu_bar").threads[str(LONG_TID)].last_page == 2

    second = crawl_entry(tmp_path, entry, "p2")
    assert second.ok and second.items == 0
    assert sorted(site.take_paths()) == sorted(["/robots.txt", BAR])

    # A new reply: the list's count goes up by one; only the thread's last page is fetched.
    bar.add_floor(LONG_TID, "楼道里有人卖刀具")
    served["list"] = served["list"].replace(b"&quot;reply_num&quot;:18,", b"&quot;reply_num&quot;:19,", 1)
    third = crawl_entry(tmp_path, entry, "p3")
    assert third.ok and third.new_items == 1
    assert [p for p in site.take_paths() if p.startswith("/p/")] == [f"/p/{LONG_TID}?pn=2"]
    (new,) = landed(third)
    assert (new["floor"], new["text"]) == (36, "楼道里有人卖刀具")


def test_real_thread_page_floors_and_in_floor_replies(tmp_path: Path, tieba: Any) -> None:
    site, _, _ = tieba
    entry = {"id": "one_thread", "kind": "tieba", "start_urls": [f"{site.base_url}/p/{REAL_TID}"]}
    report = crawl_entry(tmp_path, entry, "p1")
    assert report.ok and report.errors == [], report.errors
    posts = landed(report)
    floors = {p["floor"]: p for p in posts if p["kind"] == "tieba_post"}
    # 30 real floors (advertisement slots skipped, deleted floors leave gaps) and the 2 on page 2.
    assert len(floors) == 32 and 3 not in floors and {43, 44} <= set(floors)
    second = floors[2]
    assert second["author"] == "杜草莓"
    assert second["published_at"] == "2024-08-05T09:07:00Z"  # 2024-08-05 17:07 Beijing
    assert second["text"].startswith("本来觉得就凭14岁的这点叛逆父亲不再理她")
    assert floors[1]["title"] == "对于一个父亲来说，这个女儿14岁就死了"
    replies = [p for p in posts if p["kind"] == "comment" and p["floor"] == 2]
    assert len(replies) == 10
    first_reply = next(p for p in replies if p["native_id"] == "150721163086")
    assert first_reply["author"] == "铭寒◆"
    assert first_reply["text"] == "号废了重练一个而已，只是她妈后来才明白这一点"
    assert first_reply["published_at"] == "2024-08-05T15:48:00Z"
    assert all("\ufffd" not in p["text"] for p in posts)
