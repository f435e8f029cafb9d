"""The feed spider on every real feed in `../shared/data/pages/feeds/`: RSS 0.91/0.92/2.0, RSS 1.0
(RDF) and Atom 0.3, in GB2312 and Big5, served as a blog host would (no charset in the header: the
XML declaration says it), then a second pass answered `304 Not Modified`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from tests.fixtures.crawl.crawling import crawl_entry, landed
from tests.fixtures.crawl.local_site import LocalSite, Page, file_page

pytestmark = pytest.mark.shared_data

SERVED_AT = datetime(2006, 1, 5, 12, 0, tzinfo=UTC)


def feed_files() -> list[Path]:
    folder = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "feeds").resolve()
    files = sorted(folder.glob("*/*.xml"))
    if not files:
        pytest.skip(f"../shared/data absent: {folder} holds the real GB2312 and Big5 feeds")
    return files


@pytest.fixture
def blogs() -> Iterator[tuple[LocalSite, dict[str, Path]]]:
    site = LocalSite(SERVED_AT)
    site.route("/robots.txt", Page(b"User-agent: *\nDisallow:\n", "text/plain"))
    by_path = {}
    for path in feed_files():
        route = f"/{path.parent.name}/{path.name}"
        kind = "application/atom+xml" if b"<feed" in path.read_bytes()[:2000] else "application/rss+xml"
        site.route(route, file_page(path, kind, modified=datetime(2006, 1, 1, tzinfo=UTC)))
        by_path[route] = path
    site.start()
    yield site, by_path
    site.stop()


def test_every_real_feed_in_any_encoding_then_not_modified(
    tmp_path: Path, blogs: tuple[LocalSite, dict[str, Path]]
) -> None:
    site, by_path = blogs
    urls = [site.base_url + route for route in sorted(by_path)]
    entry = {"id": "blogs", "kind": "feed", "start_urls": urls}
    first = crawl_entry(tmp_path, entry, "p1")
    assert first.ok and first.errors == [], first.errors
    assert first.pages == len(urls) == 35
    posts = landed(first)
    # Every entry feedparser finds in the raw bytes is landed (entries repeated within a feed once).
    expected = sum(len(feedparser.parse(path.read_bytes()).entries) for path in by_path.values())
    assert first.items == expected
    assert len(posts) == first.new_items <= expected

    for post in posts:  # never mojibake: no replacement characters, no GBK-read-as-UTF-8 "锟斤拷"
        for text in (post["text"], post["title"] or "", post["author"] or ""):
            assert "\ufffd" not in text and "锟" not in text
    by_title = {(p["thread_id"].rsplit("/", 1)[1], p["title"]): p for p in posts}

    big5 = by_title[("sinica.edu.tw.xml", "新年快樂")]  # Atom 0.3, Big5
    assert big5["author"] == "隨機客" and big5["published_at"] == "2005-02-01T19:45:25Z"
    assert big5["thread_title"] == "「隨機部落格」之「線上演算法」"
    rdf = by_title[
        ("coolloud.org.tw.xml", "1226檔下點交之後 不見棺材不走人 進輪自救會長期抗戰")
    ]  # RSS 1.0 (RDF), Big5, a bad byte
    assert rdf["author"] == "苦勞報導" and rdf["published_at"] == "2005-12-30T15:26:28Z"
    assert rdf["text"].startswith("雖然手中的汽油彈、綁在身上的瓦斯筒")
    gb_rss = by_title[("w3cn.org.xml", "如何以及何时使用sIFR")]  # RSS 2.0, GB2312, a zone-less date
    assert gb_rss["author"] == "阿宏" and gb_rss["published_at"] == "2005-05-28T08:05:36Z"  # 16:05:36 Beijing
    rfc822 = next(
        p
        for (feed, title), p in by_title.items()
        if feed == "acnnewswire.net.xml" and title.startswith("JCB 与中国银联")
    )
    assert rfc822["published_at"] == "2005-12-27T04:08:54Z"  # "Tue, 27 Dec 2005 13:08:54+0900"
    undated = [p for p in posts if p["thread_id"].endswith("coverer.com.xml")]  # RSS 0.91: the channel's date
    assert undated and {p["published_at"] for p in undated} == {"2005-12-17T12:59:39Z"}

    site.take_paths()
    second = crawl_entry(tmp_path, entry, "p2")
    assert second.ok and second.items == 0 and second.batches == []
    assert len(site.take_paths()) == len(urls) + 1  # robots.txt and one conditional GET per feed
