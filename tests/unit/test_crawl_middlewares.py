"""Politeness pieces that need no crawl: Retry-After parsing, per-source settings, failure kinds."""

from __future__ import annotations

from pathlib import Path

from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, ResponseDataLossError
from twisted.python.failure import Failure

from crawlers.middlewares import OffsiteRequest, RetryAfterTooLong, retry_after_seconds
from crawlers.sources import load_sources
from crawlers.spiders.base import classify_failure, is_cut_html

NOW_TS = 1_795_000_000.0  # a fixed "now" for HTTP-date arithmetic


def test_retry_after_as_seconds_or_http_date() -> None:
    assert retry_after_seconds(b"120", now_ts=NOW_TS) == 120.0
    assert retry_after_seconds("  7 ", now_ts=NOW_TS) == 7.0
    from email.utils import formatdate

    assert retry_after_seconds(formatdate(NOW_TS + 90, usegmt=True), now_ts=NOW_TS) == 90.0
    assert retry_after_seconds(formatdate(NOW_TS - 90, usegmt=True), now_ts=NOW_TS) == 0.0  # already past
    assert retry_after_seconds(None, now_ts=NOW_TS) is None
    assert retry_after_seconds(b"soon", now_ts=NOW_TS) is None


def failed(exception: Exception) -> Failure:
    failure = Failure(exception)
    failure.request = Request("http://a.cn/x")  # type: ignore[attr-defined]
    return failure


def test_failure_kinds_for_the_report() -> None:
    assert classify_failure(failed(DownloadCancelledError("Expected 20971520 bytes")))[0] == "too_large"
    assert classify_failure(failed(ResponseDataLossError("lost")))[0] == "truncated"
    assert classify_failure(failed(OffsiteRequest("to 'evil.cn'")))[0] == "offsite"
    kind, message = classify_failure(failed(RetryAfterTooLong(429, 3600, 120)))
    assert kind == "http_status" and "Retry-After 3600s" in message and "next pass" in message


def test_cut_html_is_told_from_a_whole_page_and_from_fragments() -> None:
    assert is_cut_html("<!DOCTYPE html><html><body><div>half")
    assert not is_cut_html("<html><body>whole</body></html>\n")
    assert not is_cut_html('{"ok": 1}') and not is_cut_html("<rss version='2.0'>")


def test_per_source_politeness_becomes_crawl_settings(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - {id: slow, kind: discuz, start_urls: ['http://a.cn/forum.php'], concurrency: 1, delay_s: 3}\n"
        "  - {id: owner_ok, kind: feed, start_urls: ['http://b.cn/rss'], obey_robots: false}\n"
        "  - {id: plain, kind: weibo, start_urls: ['http://c.cn/api']}\n",
        encoding="utf-8",
    )
    slow, owner_ok, plain = load_sources(path)
    assert slow.scrapy_settings() == {"CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY": 3.0}
    assert owner_ok.scrapy_settings() == {"ROBOTSTXT_OBEY": "False"}
    assert plain.scrapy_settings() == {}
