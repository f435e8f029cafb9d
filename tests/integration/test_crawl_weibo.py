"""The weibo spider end to end against a local m.weibo.cn-style API: high-water marks, long texts,
retweets, comments, and broken JSON recorded without stopping the crawl."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawlers.run import run_crawl
from crawlers.sources import load_sources
from crawlers.state import load_state
from tests.fixtures.crawl.fake_site import FAST_SETTINGS, Canned, FakeSite, FakeWeibo, sources_yaml

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
CONTAINER = "1076035001"
EMOTICON = '<span class="url-icon"><img alt=[偷笑] src="//h5.sinaimg.cn/d_touxiao.png" /></span>'


def build_account() -> FakeSite:
    site = FakeSite(NOW)
    original = FakeWeibo(
        900, "平安哈尔滨", NOW - timedelta(days=40), "防范电信诈骗", long_html="防范电信诈骗<br />不要转账"
    )
    weibos = [FakeWeibo(1000 + i, "道里发布", NOW - timedelta(hours=5 * i), f"第{i}条{EMOTICON}") for i in range(1, 24)]
    pinned = FakeWeibo(1000, "道里发布", NOW - timedelta(days=200), "置顶：报警请拨110", pinned=True)
    weibos[1].html, weibos[1].long_html = "中央大街今晚", "中央大街今晚<br />二十点起封闭<br />请绕行"
    weibos[2].retweeted = weibos[4].retweeted = original  # a long original retweeted twice
    weibos[-1].comments = [(7000 + k, f"网友{k}", NOW - timedelta(minutes=3 * k), f"评论{k}") for k in range(12, 0, -1)]
    site.containers["5001"] = [pinned, *weibos]
    return site


@pytest.fixture
def account() -> Any:
    site = build_account()
    base = site.start()
    yield site, base
    site.stop()


def crawl(tmp_path: Path, base: str, pass_id: str) -> Any:
    entry = {
        "id": "daoli_weibo",
        "kind": "weibo",
        "start_urls": [f"{base}/api/container/getIndex?containerid={CONTAINER}"],
    }
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(sources_yaml([entry]), encoding="utf-8")
    return run_crawl(
        load_sources(sources_file)[0],
        pass_id=pass_id,
        data_dir=tmp_path / "data",
        sources_file=sources_file,
        timeout_s=60,
        settings=FAST_SETTINGS,
    )


def landed(batches: list[str]) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for batch in batches for line in Path(batch).read_text(encoding="utf-8").splitlines()]
    return {row["native_id"]: row for row in rows}


def test_passes_follow_the_high_water_mark(tmp_path: Path, account: Any) -> None:
    site, base = account
    first = crawl(tmp_path, base, "p1")
    assert first.ok and first.errors == []
    posts = landed(first.batches)
    weibos = {k: v for k, v in posts.items() if v["kind"] == "weibo"}
    comments = {k: v for k, v in posts.items() if v["kind"] == "comment"}
    assert len(weibos) == 1 + 23 + 1  # pinned, the account's 23, the retweeted original
    assert len(comments) == 12
    assert posts["1001"]["text"] == "第1条[偷笑]"
    assert posts["1001"]["published_at"] == "2026-11-27T21:00:00Z"  # "5小时前" from 10:00 Beijing time
    assert posts["1002"]["text"] == "中央大街今晚\n二十点起封闭\n请绕行"  # the long text, not the card's
    assert posts["1003"]["repost_of"] == posts["1005"]["repost_of"] == "daoli_weibo:900"
    assert posts["900"]["text"] == "防范电信诈骗\n不要转账" and posts["900"]["author"] == "平安哈尔滨"
    assert posts["1000"]["text"] == "置顶：报警请拨110"
    assert posts["7012"]["thread_id"] == "1023" and posts["7012"]["text"] == "评论12"
    assert posts["7012"]["id"] == "daoli_weibo:7012" and posts["7012"]["url"].endswith("/status/1023#comment-7012")
    assert posts["1001"]["url"] == f"{base}/status/1001"
    site.take_requests()
    assert load_state(tmp_path / "data", "daoli_weibo").containers[CONTAINER].max_mid == 1023

    second = crawl(tmp_path, base, "p2")
    assert second.ok and second.items == 0 and second.batches == []
    assert site.take_requests() == ["/robots.txt", f"/api/container/getIndex?containerid={CONTAINER}"]

    site.containers["5001"][-1].comments.insert(0, (7100, "新网友", NOW, "新评论"))  # mid 1023, on page 1
    site.containers["5001"].append(FakeWeibo(1100, "道里发布", NOW, "刚刚发布"))
    third = crawl(tmp_path, base, "p3")
    assert third.ok
    assert set(landed(third.batches)) == {"1100", "7100"}
    fetched = site.take_requests()
    assert fetched.count(f"/api/container/getIndex?containerid={CONTAINER}") == 1
    assert [p for p in fetched if "comments" in p] == ["/api/comments/show?id=1023&page=1"]
    assert len(fetched) == 3


def test_broken_json_is_recorded_and_the_rest_completes(tmp_path: Path, account: Any) -> None:
    site, base = account
    site.overrides["/api/statuses/extend?id=1002"] = Canned(b"", "application/json; charset=utf-8")
    site.overrides["/api/comments/show?id=1023&page=1"] = Canned(b"<html>502</html>", "text/html")
    report = crawl(tmp_path, base, "p1")
    assert report.ok
    assert sorted((e.kind, e.url.removeprefix(base)) for e in report.errors) == [
        ("empty", "/api/comments/show?id=1023&page=1"),
        ("empty", "/api/statuses/extend?id=1002"),
    ]
    posts = landed(report.batches)
    assert posts["1002"]["text"] == "中央大街今晚"  # the truncated card text, not nothing
    assert not any(p["kind"] == "comment" for p in posts.values())
    assert len([p for p in posts.values() if p["kind"] == "weibo"]) == 25
    # The comments of a new weibo failed, so the container's mark stays where it was: a later pass
    # sees that weibo as new again and fetches its comments (a mark saved now would lose them).
    state = load_state(tmp_path / "data", "daoli_weibo")
    assert CONTAINER not in state.containers and "1023" not in state.comments
    del site.overrides["/api/comments/show?id=1023&page=1"]
    second = landed(crawl(tmp_path, base, "p2").batches)
    assert any(p["kind"] == "comment" for p in second.values())
    assert load_state(tmp_path / "data", "daoli_weibo").containers[CONTAINER].max_mid == 1023


def test_a_failed_card_page_does_not_advance_the_mark(tmp_path: Path, account: Any) -> None:
    site, base = account
    page2 = f"/api/container/getIndex?containerid={CONTAINER}&since_id=1014"
    site.overrides[page2] = Canned(b'{"ok": 1, "data": ', "application/json; charset=utf-8")
    report = crawl(tmp_path, base, "p1")
    assert [(e.kind, e.url.removeprefix(base)) for e in report.errors] == [("empty", page2)]
    assert "1023" in landed(report.batches)
    assert CONTAINER not in load_state(tmp_path / "data", "daoli_weibo").containers
