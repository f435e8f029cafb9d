"""The discuz spider end to end: `run_crawl` subprocesses against a local GBK forum.

Proves the incremental promise with request counts: an unchanged forum costs a handful of
requests, and a new reply on a thread's last page fetches that page only.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawlers.run import run_crawl
from crawlers.sources import load_sources
from crawlers.state import load_state
from tests.fixtures.crawl.fake_site import FAST_SETTINGS, Canned, FakeSite, sources_yaml

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
LONG_TID = 100  # 25 floors: pages 1-2 full, page 3 holds floors 21-25


def build_forum() -> FakeSite:
    site = FakeSite(NOW)
    for i in range(25):
        floors = 25 if i == 0 else 3
        texts = [f"帖子{i}第{k + 1}楼<br />哈尔滨" for k in range(floors)]
        site.add_thread(
            1, LONG_TID + i, f"道里区话题{i}", texts, start=NOW - timedelta(days=3, hours=i), step=timedelta(minutes=5)
        )
    site.add_thread(2, 300, "版规", ["请文明发言"], start=NOW - timedelta(days=90), step=timedelta(0), sticky=True)
    site.add_thread(
        2, 301, "香坊区燃气味", ["楼道里有煤气味", "物业已到"], start=NOW - timedelta(hours=5), step=timedelta(hours=1)
    )
    first = site.thread(301).floors[0]
    site.add_reply(
        301,
        "已经报警",
        author="热心市民",
        at=NOW - timedelta(hours=2),
        quote=(first.author, first.at, "楼道里有煤气味"),
    )
    return site


@pytest.fixture
def forum() -> Any:
    site = build_forum()
    base = site.start()
    yield site, base
    site.stop()


def crawl(tmp_path: Path, base: str, pass_id: str, settings: dict[str, Any] | None = None, **source: Any) -> Any:
    entry = {
        "id": "forum",
        "kind": "discuz",
        "start_urls": [f"{base}/forum.php"],
        "jurisdiction_hint": "daoli",
        **source,
    }
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(sources_yaml([entry]), encoding="utf-8")
    return run_crawl(
        load_sources(sources_file)[0],
        pass_id=pass_id,
        data_dir=tmp_path / "data",
        sources_file=sources_file,
        timeout_s=60,
        settings={**FAST_SETTINGS, **(settings or {})},
    )


def landed(batches: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for batch in batches:
        assert batch.endswith(".jsonl") and Path(batch).exists()
        rows += [json.loads(line) for line in Path(batch).read_text(encoding="utf-8").splitlines()]
    return rows


def test_first_pass_unchanged_pass_and_a_reply_on_the_last_page(tmp_path: Path, forum: Any) -> None:
    site, base = forum
    total_floors = 25 + 24 * 3 + 1 + 3

    first = crawl(tmp_path, base, "p1")
    assert first.ok, first.errors
    assert first.errors == []
    posts = landed(first.batches)
    assert first.items == first.new_items == len(posts) == total_floors
    assert len({p["id"] for p in posts}) == total_floors
    fetched = site.take_requests()
    thread_pages = [path for path in fetched if "viewthread" in path]
    assert len(thread_pages) == 3 + 24 + 2  # the long thread has 3 pages, the others 1 each
    assert first.requests == len(fetched)

    quoted = next(p for p in posts if p["thread_id"] == "301" and p["floor"] == 3)
    assert quoted["text"] == "已经报警"
    assert quoted["quote"] == "楼道里有煤气味"
    assert quoted["published_at"] == "2026-11-28T00:00:00Z"  # "2 小时前" against the site clock
    opening = next(p for p in posts if p["thread_id"] == "301" and p["floor"] == 1)
    assert opening["title"] == opening["thread_title"] == "香坊区燃气味"
    assert opening["reply_count"] == 2 and opening["jurisdiction_hint"] == "daoli"
    assert next(p for p in posts if p["floor"] == 2 and p["thread_id"] == "100")["text"] == "帖子0第2楼\n哈尔滨"

    second = crawl(tmp_path, base, "p2")
    assert second.ok and second.items == 0 and second.batches == []
    assert sorted(site.take_requests()) == sorted(
        ["/robots.txt", "/forum.php", "/forum.php?mod=forumdisplay&fid=1", "/forum.php?mod=forumdisplay&fid=2"]
    )
    assert second.requests == 4

    site.add_reply(LONG_TID, "第二十六楼<br />新回复", author="新用户")
    third = crawl(tmp_path, base, "p3")
    assert third.ok and third.new_items == 1
    fetched = site.take_requests()
    assert [path for path in fetched if "viewthread" in path] == [f"/forum.php?mod=viewthread&tid={LONG_TID}&page=3"]
    assert len(fetched) <= 6  # robots, index, two boards, board 1 page 2 (the list moved), the thread page
    (reply,) = landed(third.batches)
    assert (reply["floor"], reply["text"], reply["author"]) == (26, "第二十六楼\n新回复", "新用户")
    assert load_state(tmp_path / "data", "forum").threads[str(LONG_TID)].replies == 25


def test_broken_pages_are_reported_while_the_rest_lands(tmp_path: Path, forum: Any) -> None:
    site, base = forum
    lying = site.render_thread(101, 1).decode("gbk").replace("charset=gbk", "charset=gb2312").encode("utf-8")
    site.overrides.update(
        {
            "/forum.php?mod=viewthread&tid=102&page=1": Canned(os.urandom(4000)),
            "/forum.php?mod=viewthread&tid=103&page=1": Canned(
                b"<html><body>" + b"\xa1\xa2 !" * 300 + b"</body></html>"
            ),
            "/forum.php?mod=viewthread&tid=104&page=1": Canned(b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png"),
            "/forum.php?mod=viewthread&tid=105&page=1": Canned(b"<html>busy</html>", "text/html", 503),
            "/forum.php?mod=viewthread&tid=101&page=1": Canned(lying, "text/html; charset=gb2312"),
        }
    )
    report = crawl(tmp_path, base, "p1")
    assert report.ok
    kinds: dict[str, list[str]] = {}
    for error in report.errors:
        kinds.setdefault(error.kind, []).append(error.url)
    assert sorted(kinds) == ["bad_html", "charset_mismatch", "http_status"]
    assert len(kinds["bad_html"]) == 3 and all(
        any(f"tid={tid}&" in url for url in kinds["bad_html"]) for tid in (102, 103, 104)
    )
    assert kinds["charset_mismatch"] == [f"{base}/forum.php?mod=viewthread&tid=101&page=1"]
    assert kinds["http_status"] == [f"{base}/forum.php?mod=viewthread&tid=105&page=1"]
    posts = landed(report.batches)
    assert {p["thread_id"] for p in posts} >= {"100", "101", "106", "301"}
    assert not {"102", "103", "104", "105"} & {p["thread_id"] for p in posts}
    lied = sorted((p for p in posts if p["thread_id"] == "101"), key=lambda p: p["floor"])
    assert [p["text"] for p in lied] == [f"帖子1第{k}楼\n哈尔滨" for k in (1, 2, 3)]  # no mojibake
    # Failed threads keep no state, so the next pass tries them again.
    state = load_state(tmp_path / "data", "forum")
    assert "101" in state.threads and not {"102", "103", "104", "105"} & set(state.threads)


def test_page_budget_and_batch_rotation(tmp_path: Path, forum: Any) -> None:
    _, base = forum
    report = crawl(tmp_path, base, "p1", max_pages=6, settings={"PATROL_BATCH_MAX_ITEMS": 4})
    assert report.ok
    assert [e.kind for e in report.errors] == ["budget"]
    assert report.pages <= 6
    assert len(report.batches) == -(-report.new_items // 4) >= 2
    assert [Path(b).name for b in report.batches][:2] == ["p1-0001.jsonl", "p1-0002.jsonl"]
    assert datetime.fromisoformat(landed(report.batches)[0]["fetched_at"]).tzinfo == UTC


def test_robots_txt_is_obeyed(tmp_path: Path, forum: Any) -> None:
    site, base = forum
    site.overrides["/robots.txt"] = Canned(b"User-agent: *\nDisallow: /forum.php\n", "text/plain")
    report = crawl(tmp_path, base, "p1")
    assert not report.ok
    assert [e.kind for e in report.errors] == ["robots_denied"]
    assert site.take_requests() == ["/robots.txt"]
    assert report.batches == []
