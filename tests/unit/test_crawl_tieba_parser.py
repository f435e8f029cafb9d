"""Tieba pages to records: the real bar list (threads hidden in pagelet comments) and thread page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from parsel import Selector

from crawlers.encoding import decode_page
from crawlers.parsers.tieba import (
    NotTiebaPage,
    is_thread_list,
    parse_thread_list,
    parse_thread_page,
    thread_id_from_url,
    thread_page_url,
)

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "tieba").resolve()
SHANGHAI = timezone(timedelta(hours=8))


def real(name: str) -> Selector:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"../shared/data absent: {path} (a real Tieba page) is needed")
    return Selector(text=decode_page(path.read_bytes()).text)


@pytest.mark.shared_data
def test_real_list_threads_from_hidden_pagelets() -> None:
    now = datetime(2024, 8, 8, 11, 30, tzinfo=SHANGHAI)
    page = real("tieba_note_list.html")
    assert is_thread_list(page)
    listing = parse_thread_list(page, "https://tieba.baidu.com/f?kw=x&ie=utf-8&pn=0", now)
    assert len(listing.threads) == 48 and listing.problems == []
    assert listing.forum == "盗墓笔记吧"
    first = listing.threads[0]
    assert (first.tid, first.title, first.replies, first.sticky) == (
        "9079949995",
        "盗墓笔记全集+txt小说，已整理",
        18,
        False,
    )
    assert first.author == "公子伯仲"
    assert first.last_reply_at == datetime(2024, 8, 8, 11, 24, tzinfo=SHANGHAI)  # "11:24": today's clock time
    assert first.last_reply_approximate  # a clock time is not an exact timestamp
    assert first.url == "https://tieba.baidu.com/p/9079949995"
    assert listing.next_url == "https://tieba.baidu.com/f?kw=%E7%9B%97%E5%A2%93%E7%AC%94%E8%AE%B0&ie=utf-8&pn=50"


@pytest.mark.shared_data
def test_real_thread_floors_ads_skipped_and_in_floor_replies() -> None:
    now = datetime(2024, 8, 6, 12, 0, tzinfo=SHANGHAI)
    page = parse_thread_page(real("note_detail.html"), "https://tieba.baidu.com/p/9117905169", now)
    assert (page.tid, page.title, page.forum) == ("9117905169", "对于一个父亲来说，这个女儿14岁就死了", "以太比特吧")
    assert (page.page, page.total_pages, page.reply_count) == (1, 13, 786)
    assert page.next_url == "https://tieba.baidu.com/p/9117905169?pn=2"
    assert len(page.floors) == 30 and page.problems == []
    assert [f.floor for f in page.floors[:4]] == [1, 2, 4, 7]  # 3 is an advertisement slot; 5, 6 deleted
    second = page.floors[1]
    assert (second.pid, second.author, second.comment_count) == ("150719088158", "杜草莓", 123)
    assert second.published_at == datetime(2024, 8, 5, 9, 7, tzinfo=UTC)
    assert len(second.replies) == 10
    assert second.replies[0].author == "铭寒◆" and second.replies[0].reply_to is None
    addressed = [r for r in second.replies if r.reply_to]
    assert addressed and not addressed[-1].text.startswith("回复")


def test_urls_and_a_page_that_is_not_tieba() -> None:
    assert thread_page_url("https://tieba.baidu.com/f?kw=x", "42", 3) == "https://tieba.baidu.com/p/42?pn=3"
    assert thread_id_from_url("https://tieba.baidu.com/p/42?pn=3") == "42"
    assert thread_id_from_url("https://tieba.baidu.com/f?kw=x") is None
    with pytest.raises(NotTiebaPage):
        parse_thread_page(Selector(text="<html><body>贴吧404</body></html>"), "https://t/p/1", datetime.now(UTC))
    with pytest.raises(NotTiebaPage):
        parse_thread_list(Selector(text="<html><body></body></html>"), "https://t/f", datetime.now(UTC))
