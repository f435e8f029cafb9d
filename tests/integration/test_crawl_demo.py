"""Both spiders against the bundled demo site over HTTP, checked against the site's ground truth.

Pass 1 must land every post the site has, with the right text, quote and time; pass 2 over the
unchanged site costs one request per board or account plus the index and robots.txt; pass 3
fetches only the last page of the thread that got a reply and only the new weibo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawlers.run import run_crawl
from crawlers.sources import SourceConfig, load_sources
from demo import DemoSite
from patrol.schema import CrawlReport
from tests.fixtures.crawl.fake_site import FAST_SETTINGS, sources_yaml

THREADS = 30
MULTI_PAGE_TID = 27  # 26 replies at seed 7: floors 21-27 on page 3, room for a 28th


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(seed=7, threads=THREADS) as demo:
        yield demo


def sources(site: DemoSite, tmp_path: Path) -> tuple[list[SourceConfig], Path]:
    path = tmp_path / "sources.yaml"
    path.write_text(sources_yaml(site.source_entries()), encoding="utf-8")
    return load_sources(path), path


def crawl_all(site: DemoSite, tmp_path: Path, pass_id: str) -> dict[str, CrawlReport]:
    configs, path = sources(site, tmp_path)
    return {
        source.kind: run_crawl(
            source,
            pass_id=pass_id,
            data_dir=tmp_path / "data",
            sources_file=path,
            timeout_s=120,
            settings=FAST_SETTINGS,
        )
        for source in configs
    }


def squash(text: str | None) -> str | None:
    """Runs of spaces as one, as HTML renders them (spam pads characters with spaces)."""
    return re.sub(r" {2,}", " ", text) if text is not None else None


def landed(reports: dict[str, CrawlReport]) -> dict[str, dict[str, Any]]:
    """Landed posts by the site's native id."""
    rows: dict[str, dict[str, Any]] = {}
    for report in reports.values():
        for batch in report.batches:
            for line in Path(batch).read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                rows[row["native_id"]] = row
    return rows


@pytest.mark.slow  # six crawl subprocesses: ~15 s of CPU, longer on a busy machine
def test_three_passes_over_the_demo_site(site: DemoSite, tmp_path: Path) -> None:
    first = crawl_all(site, tmp_path, "p1")
    for report in first.values():
        assert report.ok and report.errors == [], report.errors
    posts = landed(first)
    assert set(posts) == set(site.truth())

    content, now = site.content, site.now
    for tid in range(1, THREADS + 1):
        for floor in content.thread(tid).floors:
            post = posts[str(floor.pid)]
            assert (post["floor"], post["author"]) == (floor.number, floor.author.name)
            assert post["text"] == squash(floor.text)
            assert post["quote"] == squash(floor.quote.text if floor.quote else None)
            error = abs(datetime.fromisoformat(post["published_at"]) - floor.posted_at)
            # Older than a day: an absolute minute. Younger: "N 小时前" is only good to the hour.
            assert error < (timedelta(minutes=1) if now - floor.posted_at > timedelta(days=1) else timedelta(hours=1))
    for account in content.weibo_accounts:
        for weibo in content.timeline(account.uid):
            assert posts[str(weibo.mid)]["text"] == squash(weibo.text)
            assert posts[str(weibo.mid)]["kind"] == "weibo"

    site.reset_request_counts()
    second = crawl_all(site, tmp_path, "p2")
    assert all(r.ok and r.items == 0 and r.batches == [] for r in second.values())
    boards, accounts = len(content.boards), len(content.weibo_accounts)
    assert site.requests_served["/forum.php?mod=forumdisplay"] == boards
    assert site.requests_served["/api/container/getIndex"] == accounts
    assert sum(site.requests_served.values()) == 1 + boards + accounts + 2  # + index + robots.txt twice
    assert second["discuz"].requests == 2 + boards and second["weibo"].requests == 1 + accounts

    assert content.thread_summary(MULTI_PAGE_TID).replies == 26
    pid = site.add_reply(MULTI_PAGE_TID, "楼上说得对\n明天再去看看")
    mid = site.add_weibo(content.weibo_accounts[0].uid, "道里区今晚有雪，出行注意安全")
    site.reset_request_counts()
    third = crawl_all(site, tmp_path, "p3")
    assert set(landed(third)) == {pid, mid}
    thread_pages = [t for t in site.request_log() if "mod=viewthread" in t]
    assert thread_pages == [f"/forum.php?mod=viewthread&tid={MULTI_PAGE_TID}&page=3"]
    new_floor = landed(third)[pid]
    assert (new_floor["floor"], new_floor["text"]) == (28, "楼上说得对\n明天再去看看")
    assert third["discuz"].requests <= 2 + boards + 1
    assert third["weibo"].requests == 1 + accounts
