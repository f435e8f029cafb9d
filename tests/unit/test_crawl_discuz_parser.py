"""Discuz! pages to records: the real netease thread list and handwritten GBK thread pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from parsel import Selector

from crawlers.encoding import decode_page
from crawlers.parsers.discuz import (
    NotDiscuzPage,
    floor_permalink,
    is_thread_list,
    page_of_floor,
    parse_board_index,
    parse_thread_list,
    parse_thread_page,
    thread_id_from_url,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crawl"
SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages").resolve()
SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
BASE = "http://bbs.example.cn/"


def gbk_fixture(name: str) -> Selector:
    page = decode_page((FIXTURES / name).read_bytes(), b"text/html; charset=gbk")
    assert not page.charset_mismatch
    return Selector(text=page.text)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A Beijing wall-clock time, in UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture(scope="module")
def netease_list() -> Selector:
    path = SHARED / "news" / "test_list_page" / "netease_forum" / "1.html"
    if not path.exists():
        pytest.skip(f"../shared/data absent: {path} (a real Discuz! X3.2 thread list) is needed")
    return Selector(text=decode_page(path.read_bytes()).text)


@pytest.mark.shared_data
def test_real_thread_list_ids_sticky_and_counts(netease_list: Selector) -> None:
    # The page was saved on 2020-08-02 around 16:00 Beijing time.
    saved = datetime(2020, 8, 2, 16, 0, tzinfo=SHANGHAI)
    listing = parse_thread_list(netease_list, "https://bbs.example.cn/forum-9-1.html", saved)
    assert is_thread_list(netease_list)
    assert len(listing.threads) == 42
    assert listing.problems == []
    sticky = [row.tid for row in listing.threads if row.sticky]
    assert sticky == ["202823", "187479"]
    first = listing.threads[2]
    assert (first.tid, first.title, first.sticky) == ("202643", "新买的机子老出现游戏卡屏或卡崩", False)
    assert (first.author, first.replies, first.views) == ("撅撅撅", 22, 1171)
    assert first.last_poster == "七月海蓝"
    # "3 小时前" on screen; the exact time is in the span's title and wins.
    assert first.last_post_at == sh(2020, 8, 2, 13, 11)
    assert not first.last_post_approximate
    assert first.url == "https://bbs.example.cn/forum.php?mod=viewthread&tid=202643&page=1"
    announcement = listing.threads[1]
    assert (announcement.replies, announcement.views, announcement.title) == (
        814,
        109593,
        "逆水寒官方&玩家信息沟通渠道公告",
    )
    assert listing.next_url == "https://bbs.example.cn/forum-9-2.html"
    assert len({row.tid for row in listing.threads}) == 42


def test_board_index_lists_each_board_once() -> None:
    boards = parse_board_index(gbk_fixture("discuz_index.html"), BASE)
    assert boards == [
        "http://bbs.example.cn/forum.php?mod=forumdisplay&fid=2",
        "http://bbs.example.cn/forum.php?mod=forumdisplay&fid=3",
        "http://bbs.example.cn/forum.php?mod=forumdisplay&fid=7",
    ]


def test_opening_floor_text_keeps_breaks_and_smiley_alt_but_not_the_edit_notice() -> None:
    url = BASE + "forum.php?mod=viewthread&tid=5001&page=1"
    page = parse_thread_page(gbk_fixture("discuz_thread_5001_p1.html"), url, NOW)
    assert (page.tid, page.title, page.page) == ("5001", "香坊区某小区楼道有煤气味", 1)
    assert page.next_url == BASE + "forum.php?mod=viewthread&tid=5001&page=2"
    opening, second = page.floors
    assert (opening.pid, opening.floor, opening.author) == ("90001", 1, "老张头")
    assert opening.text == "早上下楼闻到很重的煤气味，\n已经给燃气公司打了电话。[偷笑]"
    assert opening.published_at == sh(2026, 11, 26, 8, 15)
    assert opening.quote is None
    assert (second.floor, second.author, second.text) == (2, "楼下邻居", "我家也闻到了")


def test_last_page_floors_quote_relative_times_and_problems() -> None:
    url = BASE + "forum.php?mod=viewthread&tid=5001&page=2"
    page = parse_thread_page(gbk_fixture("discuz_thread_5001_p2.html"), url, NOW)
    assert page.next_url is None
    assert [f.floor for f in page.floors] == [11, 12, 13, 14]
    quoted, plain_relative, yesterday, half_hour = page.floors
    assert quoted.quote == "早上下楼闻到很重的煤气味，"
    assert quoted.text == "已经关闭总阀，\n维修师傅下午到。"
    assert "发表于" not in quoted.text and "老张头" not in quoted.text
    assert quoted.published_at == sh(2026, 11, 28, 7, 0)  # from the span title
    assert plain_relative.published_at == NOW - timedelta(hours=3)
    assert plain_relative.text == "注意安全[加油]"
    assert yesterday.published_at == sh(2026, 11, 27, 21, 5)
    assert half_hour.published_at == NOW - timedelta(minutes=30)  # id="authorposton 90014" (with a space)
    assert len(page.problems) == 1 and "90015" in page.problems[0]


def test_garbage_and_error_pages_are_not_discuz_pages() -> None:
    with pytest.raises(NotDiscuzPage):
        parse_thread_page(Selector(text="<html><body>\x07\x08 nothing here</body></html>"), BASE, NOW)
    message_page = Selector(
        text='<html><body><div id="messagetext"><p>指定的主题不存在或已被删除</p></div></body></html>'
    )
    with pytest.raises(NotDiscuzPage, match="指定的主题不存在"):
        parse_thread_list(message_page, BASE, NOW)


def test_url_helpers_understand_both_url_styles() -> None:
    assert thread_id_from_url("http://x/forum.php?mod=viewthread&tid=42&page=3") == "42"
    assert thread_id_from_url("http://x/thread-202643-2-1.html") == "202643"
    assert thread_id_from_url("http://x/forum.php") is None
    assert floor_permalink(BASE, "5001", "90011") == BASE + "forum.php?mod=redirect&goto=findpost&ptid=5001&pid=90011"
    assert [page_of_floor(n, 10) for n in (1, 10, 11, 20, 21)] == [1, 1, 2, 2, 3]
