"""Feeds to records: every real file in `../shared/data/pages/feeds/` (GB2312 and Big5; RSS 0.9x,
2.0, 1.0/RDF, Atom 0.3), dates read in the right zone, undated entries dated by the feed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from crawlers.encoding import decode_page
from crawlers.parsers.feed import NotAFeed, entry_key, native_id_of, parse_feed

FEEDS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "feeds").resolve()
SERVED = datetime(2006, 1, 5, tzinfo=UTC)
FILES = sorted(p for p in FEEDS.glob("*/*") if p.name != "LICENSE") if FEEDS.is_dir() else []


@pytest.mark.shared_data
@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_every_file_decodes_without_mojibake_and_every_feed_parses(path: Path) -> None:
    page = decode_page(path.read_bytes())
    assert "\ufffd" not in page.text and "锟斤拷" not in page.text
    assert page.encoding == ("big5" if path.parent.name == "Big5" else "gb18030")
    if path.suffix != ".xml":
        return  # the two plain-text samples are only about encoding detection
    document = parse_feed(page.text, now=SERVED)
    assert len(document.entries) == len(feedparser.parse(path.read_bytes()).entries) > 0
    assert document.version
    for entry in document.entries:
        assert entry.published_at.tzinfo is not None
        assert entry.text or entry.title


def test_feed_parsing_against_a_written_feed() -> None:
    rss = """<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>道里发布</title>
    <pubDate>Sat, 28 Nov 2026 01:00:00 GMT</pubDate>
    <item><title>停水通知</title><link>http://a.cn/1</link><author>水务局</author>
    <description>&lt;p&gt;明日&lt;br/&gt;停水&lt;/p&gt;</description><pubDate>2026-11-27 21:05</pubDate></item>
    <item><title>无日期</title><description>x</description></item></channel></rss>"""
    document = parse_feed(rss, now=SERVED)
    dated, undated = document.entries
    assert (dated.title, dated.author, dated.text, dated.link) == ("停水通知", "水务局", "明日\n停水", "http://a.cn/1")
    assert dated.published_at == datetime(2026, 11, 27, 13, 5, tzinfo=UTC)  # zone-less: Beijing time
    assert (undated.dated_by, undated.published_at) == ("feed", datetime(2026, 11, 28, 1, 0, tzinfo=UTC))
    assert dated.key == "http://a.cn/1" and undated.key.startswith("sha1:")
    assert native_id_of(dated.key) == native_id_of("http://a.cn/1") and len(native_id_of(dated.key)) == 20
    assert entry_key({"id": "tag:x,1"}) == "tag:x,1"


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(NotAFeed):
        parse_feed("<html><body>502 Bad Gateway</body></html>", now=SERVED)
