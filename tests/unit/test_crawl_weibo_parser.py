"""m.weibo.cn-style JSON to records: the real cards/comments/long-text responses and edge cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawlers.parsers.weibo import (
    EmptyDocument,
    WeiboFormatError,
    load_json,
    parse_cards,
    parse_comments,
    parse_long_text,
    weibo_text,
)

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "weibo").resolve()
SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)


def real(name: str) -> Any:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"../shared/data absent: {path} (a real m.weibo.cn response) is needed")
    return load_json(path.read_text(encoding="utf-8"))


def mblog(mid: int, created_at: str = "刚刚", **extra: Any) -> dict[str, Any]:
    return {
        "id": str(mid),
        "mid": str(mid),
        "created_at": created_at,
        "text": f"微博{mid}",
        "user": {"id": 1, "screen_name": "哈尔滨发布"},
        **extra,
    }


@pytest.mark.shared_data
def test_real_card_list_ids_authors_text_and_retweet() -> None:
    page = parse_cards(real("cards1.json"), NOW)
    assert page.container_id == "1076031669879400"
    assert page.problems == []
    assert len(page.mblogs) == 10
    assert page.mblogs[0].mid == 4383183661430868
    assert {m.author for m in page.mblogs} == {"Dear-迪丽热巴"}
    first = page.mblogs[0]
    assert first.text == "搬完这块砖，就可以吃好吃的了[偷笑][偷笑][偷笑]"
    assert "<" not in "".join(m.text for m in page.mblogs)
    # "06-14" is this year's 14 June in Beijing time.
    assert first.published_at == datetime(2026, 6, 14, tzinfo=SHANGHAI).astimezone(UTC)
    retweet = page.mblogs[1]
    assert retweet.mid == 4383180406740606
    assert retweet.text == "大家一起电影院约起来啊～～～"
    assert retweet.retweeted is not None
    assert retweet.retweeted.mid == 4383031864995274
    assert retweet.retweeted.author == "代斯daisy"
    assert retweet.retweeted.text.startswith("写在《秦明·生死语者》上映这一天……\n#614致敬法医#")
    assert sum(1 for m in page.mblogs if m.retweeted is not None) >= 1
    assert not any(m.pinned for m in page.mblogs)
    assert page.since_id is None and page.next_page == 2  # this older response pages by number


@pytest.mark.shared_data
def test_real_comments_with_reply_text() -> None:
    page = parse_comments(real("comments1.json"), NOW)
    assert [c.comment_id for c in page.comments] == [4383932071637949, 4383931988671914]
    first, reply = page.comments
    assert first.text == "吃的完吗？要不我帮你解决一点儿[太开心]"
    assert first.published_at == NOW.astimezone(UTC)  # 刚刚
    assert first.author == "迪热热的毛裤诶"
    assert reply.reply_text == "爱你哟 网页链接"
    assert (page.total, page.max_page) == (125020, 12502)


@pytest.mark.shared_data
def test_real_long_text_keeps_line_breaks() -> None:
    text = parse_long_text(real("statuses1.json"))
    assert "\nNature\n" in text
    assert "<br" not in text


def test_truncated_text_drops_the_full_text_link() -> None:
    html = '道里区中央大街今晚封路<br />详情见...<a href="/status/4383">全文</a>'
    assert weibo_text(html) == "道里区中央大街今晚封路\n详情见"


def test_pinned_cards_cursor_and_exhausted_cursor() -> None:
    document = {
        "ok": 1,
        "data": {
            "cardlistInfo": {"containerid": "1076031", "since_id": 4999, "total": 30},
            "cards": [
                {"card_type": 9, "mblog": mblog(1000, "2025-11-27", isTop=1)},
                {"card_type": 9, "mblog": mblog(5001, "5分钟前")},
                {"card_type": 11, "card_group": [{"card_type": 9, "mblog": mblog(5000, "昨天 21:05")}]},
                {"card_type": 58, "desc": "layout"},
            ],
        },
    }
    page = parse_cards(document, NOW)
    assert [(m.mid, m.pinned) for m in page.mblogs] == [(1000, True), (5001, False), (5000, False)]
    assert page.since_id == "4999" and not page.exhausted
    assert page.mblogs[1].published_at == (NOW - timedelta(minutes=5)).astimezone(UTC)
    done = parse_cards({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, NOW)
    assert done.exhausted and done.mblogs == []


def test_bad_records_are_problems_not_failures() -> None:
    document = {
        "ok": 1,
        "data": {"cards": [{"card_type": 9, "mblog": mblog(7, "not a time")}, {"card_type": 9, "mblog": mblog(8)}]},
    }
    page = parse_cards(document, NOW)
    assert [m.mid for m in page.mblogs] == [8]
    assert len(page.problems) == 1 and "not a time" in page.problems[0]


@pytest.mark.parametrize("body", ["", "   ", "<html>502 Bad Gateway</html>", '{"ok": 1, "data": ', "{}", "[]", "null"])
def test_empty_or_invalid_json_is_an_empty_document(body: str) -> None:
    with pytest.raises(EmptyDocument):
        load_json(body)


def test_wrong_shapes_raise() -> None:
    with pytest.raises(WeiboFormatError):
        parse_cards(json.loads('{"ok": 1, "data": {}}'), NOW)
    with pytest.raises(WeiboFormatError):
        parse_long_text({"ok": 1, "data": {"ok": 1}})


@pytest.mark.shared_data
def test_display_rounded_counts_are_read_as_numbers() -> None:
    page = parse_cards(real("cards1.json"), datetime(2019, 6, 16, 12, 0, tzinfo=SHANGHAI))
    counts = {str(m.mid): m.comments_count for m in page.mblogs}
    assert counts["4379188905591760"] == 1_000_000  # the API shows "100万+"
    assert counts["4383183661430868"] == 95535
