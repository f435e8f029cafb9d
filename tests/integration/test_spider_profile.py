"""The profile spider on the two layouts shipped as profiles: a phpBB 3 forum and a government
message board (GBK), crawled with no code for either, then again after one thread changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawlers.state import load_state
from tests.fixtures.crawl.crawling import crawl_entry, landed
from tests.fixtures.crawl.local_site import LocalSite, Page
from tests.fixtures.crawl.profile_sites import BoardMessage, Message, MessageBoard, PhpbbForum, Topic

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)


def build_forum() -> PhpbbForum:
    forum = PhpbbForum()
    for i in range(30):
        count = 12 if i == 0 else 2
        posts = [
            Message(
                1000 + i * 20 + k,
                f"车友{k}",
                NOW - timedelta(hours=i + 1, minutes=-k),
                f"话题{i}第{k + 1}楼<br />哈尔滨",
            )
            for k in range(count)
        ]
        forum.topics.append(Topic(100 + i, f"香坊车友话题{i}", posts, sticky=i == 29))
    forum.topics[0].posts[2].quote = ("车友0", "话题0第1楼")
    return forum


def build_board() -> MessageBoard:
    board = MessageBoard()
    for i in range(15):
        reply = ("南岗区消防救援大队", NOW - timedelta(days=i, hours=-5), "已派员核查处理") if i % 2 else None
        board.messages.append(
            BoardMessage(
                1000 + i, f"南岗区某小区问题{i}", f"市民{i}", NOW - timedelta(days=i), "楼道堆放杂物存在消防隐患", reply
            )
        )
    return board


@pytest.fixture
def sites() -> Iterator[tuple[LocalSite, PhpbbForum, MessageBoard]]:
    forum, board = build_forum(), build_board()
    site = LocalSite(NOW)
    site.route("/robots.txt", Page(b"User-agent: *\nDisallow: /ucp.php\n", "text/plain"))
    site.route_prefix("/view", forum.respond)
    site.route_prefix("/wz/", board.respond)
    site.start()
    yield site, forum, board
    site.stop()


def test_phpbb_profile_topics_posts_quotes_and_a_new_reply(tmp_path: Path, sites: Any) -> None:
    site, forum, _ = sites
    entry = {
        "id": "car_club",
        "kind": "profile",
        "profile": "phpbb3",
        "start_urls": [f"{site.base_url}/viewforum.php?f=2"],
    }
    first = crawl_entry(tmp_path, entry, "p1")
    assert first.ok and first.errors == [], first.errors
    posts = landed(first)
    assert len(posts) == 12 + 29 * 2
    topic0 = sorted((p for p in posts if p["thread_id"] == "100"), key=lambda p: p["floor"])
    assert [p["floor"] for p in topic0] == list(range(1, 13))  # two pages (start=0, start=10)
    third = topic0[2]
    assert (third["author"], third["text"], third["quote"]) == ("车友2", "话题0第3楼\n哈尔滨", "话题0第1楼")
    assert third["published_at"] == (NOW - timedelta(hours=1, minutes=-2)).astimezone(UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert topic0[0]["title"] == topic0[0]["thread_title"] == "香坊车友话题0"
    assert any(p["thread_id"] == "129" for p in posts)  # the sticky topic

    forum.topic(105).posts.append(Message(9999, "新车友", NOW - timedelta(minutes=1), "刚到，路口有车祸，注意绕行"))
    site.take_paths()
    second = crawl_entry(tmp_path, entry, "p2")
    assert second.ok and second.new_items == 1
    (new,) = landed(second)
    assert (new["thread_id"], new["floor"], new["text"]) == ("105", 3, "刚到，路口有车祸，注意绕行")
    topic_pages = [p for p in site.take_paths() if p.startswith("/viewtopic")]
    assert topic_pages == ["/viewtopic.php?f=2&t=105"]
    assert load_state(tmp_path / "data", "car_club").threads["105"].last_ids == ["1100", "1101", "9999"]


def test_message_board_profile_gbk_messages_and_a_new_official_reply(tmp_path: Path, sites: Any) -> None:
    site, _, board = sites
    entry = {
        "id": "nangang_wz",
        "kind": "profile",
        "profile": "gov_message_board",
        "start_urls": [f"{site.base_url}/wz/list.jsp?page=1"],
    }
    first = crawl_entry(tmp_path, entry, "p1")
    assert first.ok and first.errors == [], first.errors
    posts = landed(first)
    assert len(posts) == 15 + 7
    answered = sorted((p for p in posts if p["thread_id"] == "1001"), key=lambda p: p["floor"])
    assert [(p["author"], p["text"]) for p in answered] == [
        ("市民1", "楼道堆放杂物存在消防隐患"),
        ("南岗区消防救援大队", "已派员核查处理"),
    ]
    assert answered[0]["published_at"] == (NOW - timedelta(days=1)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert answered[0]["title"] == "南岗区某小区问题1"

    board.messages[0].reply = ("南岗区应急管理局", NOW, "已联系物业清理")  # 未回复 -> 已回复 on the list
    site.take_paths()
    second = crawl_entry(tmp_path, entry, "p2")
    assert second.ok and second.new_items == 1
    (reply,) = landed(second)
    assert (reply["thread_id"], reply["floor"], reply["author"]) == ("1000", 2, "南岗区应急管理局")
    paths = site.take_paths()
    assert [p for p in paths if "detail" in p] == ["/wz/detail.jsp?id=1000"]
    assert [p for p in paths if "list" in p] == ["/wz/list.jsp?page=1", "/wz/list.jsp?page=2"]  # rescan_pages
