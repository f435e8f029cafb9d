"""The pass report: what one crawl of one source did, as `patrol.schema.CrawlReport` JSON.

A Scrapy extension counts requests (every download attempt, robots.txt and retries included), pages
(responses a spider parsed successfully), items (posts the spider produced, in-pass duplicates
included) and new items (posts landed: the incremental state keeps already-landed posts out, so
these are the new or changed ones, bar a retweeted original seen again), and collects errors by
kind; at spider close
(after the landing pipeline has renamed its batches) it writes
`<PATROL_DATA_DIR>/reports/<pass_id>/<source_id>.json` for the runner and the pass summary.

Error kinds:
`unreachable` (DNS, refused, reset), `timeout` (download or pass time limit), `http_status` (4xx/5xx),
`bad_html` (a page that is not HTML or has none of the expected structure), `charset_mismatch`
(declared charset contradicted by the bytes; the page is still read), `empty` (empty or invalid
JSON), `parse` (a page or record the parser could not read), `robots_denied` (robots.txt forbids
the page), `state` (damaged state file, rebuilt by a full crawl), `budget` (`max_pages` reached; the
rest is fetched next pass), `truncated` (a page cut short: the connection dropped, or the HTML stops
before its end), `too_large` (over `DOWNLOAD_MAXSIZE`), `offsite` (a link or redirect to another
domain, not followed), `trap` (a pagination loop, endless pagination or a calendar trap, not
followed).

Beside the report, `<source_id>.health.json` holds what source health needs and `CrawlReport` does
not carry: the spider kind, the exact count of errors by kind (the report lists at most
`MAX_ERRORS_PER_KIND` of each), pages that failed to parse, and the duration (`crawlers.health`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from twisted.python.failure import Failure

from patrol.schema import CrawlReport, Post, SourceError, utcnow

logger = logging.getLogger(__name__)

#: Sent by spiders and pipelines with `error=SourceError(...)`; the report collects it.
source_error = object()
#: Sent by the landing pipeline with `path=Path` when a batch has been renamed into place.
batch_landed = object()
#: Sent by spiders when they have parsed a page successfully.
page_parsed = object()

#: At most this many errors of one kind are kept verbatim; the rest are counted in one summary entry.
MAX_ERRORS_PER_KIND = 50
#: Kinds that do not make a crawl unsuccessful by themselves.
NON_FATAL_KINDS = frozenset({"charset_mismatch", "state", "budget", "trap"})
#: Kinds that mean a fetched page could not be read: the parse-failure rate's numerator.
PARSE_FAILURE_KINDS = frozenset({"bad_html", "parse", "empty", "truncated"})


def report_path(data_dir: Path, pass_id: str, source_id: str) -> Path:
    return data_dir / "reports" / pass_id / f"{source_id}.json"


def health_path(data_dir: Path, pass_id: str, source_id: str) -> Path:
    return data_dir / "reports" / pass_id / f"{source_id}.health.json"


def _write_atomically(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _failure_name(failure: Failure) -> str:
    return failure.type.__name__ if failure.type is not None else "Error"


class CrawlReportExtension:
    """Collects the pass report from Scrapy signals and writes it when the spider closes."""

    def __init__(self, crawler: Crawler, data_dir: Path) -> None:
        self.crawler = crawler
        self.data_dir = data_dir
        self.report: CrawlReport | None = None
        self._error_counts: dict[str, int] = {}
        # Pages with a parse problem (a page may report several records): the failure rate's numerator.
        self._failed_pages: set[str] = set()
        self._spider_kind = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlReportExtension:
        data_dir = crawler.settings.get("PATROL_DATA_DIR")
        if not data_dir:
            raise NotConfigured("PATROL_DATA_DIR is not set")
        extension = cls(crawler, Path(data_dir))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.request_reached_downloader, signal=signals.request_reached_downloader)
        crawler.signals.connect(extension.page_parsed, signal=page_parsed)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(extension.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(extension.spider_error, signal=signals.spider_error)
        crawler.signals.connect(extension.source_error, signal=source_error)
        crawler.signals.connect(extension.batch_landed, signal=batch_landed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self._spider_kind = spider.name
        self.report = CrawlReport(
            source_id=str(getattr(spider, "source_id", spider.name)),
            pass_id=str(getattr(spider, "pass_id", "adhoc")),
            started_at=utcnow(),
        )

    def request_reached_downloader(self, request: Request, spider: Spider) -> None:
        if self.report is not None:
            self.report.requests += 1

    def page_parsed(self) -> None:
        if self.report is not None:
            self.report.pages += 1

    def item_scraped(self, item: Any, response: Response | None, spider: Spider) -> None:
        if self.report is not None and isinstance(item, Post):
            self.report.items += 1
            self.report.new_items += 1

    def item_dropped(self, item: Any, response: Response | None, exception: Exception, spider: Spider) -> None:
        # Dropped posts are in-pass duplicates: produced, but not new.
        if self.report is not None and isinstance(item, Post):
            self.report.items += 1

    def spider_error(self, failure: Failure, response: Response, spider: Spider) -> None:
        self.add_error(
            SourceError(kind="parse", url=response.url, message=f"{_failure_name(failure)}: {failure.value}")
        )

    def source_error(self, error: SourceError) -> None:
        self.add_error(error)

    def batch_landed(self, path: Path) -> None:
        if self.report is not None:
            self.report.batches.append(str(path))

    def add_error(self, error: SourceError) -> None:
        if self.report is None:
            return
        seen = self._error_counts.get(error.kind, 0) + 1
        self._error_counts[error.kind] = seen
        if error.kind in PARSE_FAILURE_KINDS:
            self._failed_pages.add(error.url or f"#{seen}")
        if seen <= MAX_ERRORS_PER_KIND:
            self.report.errors.append(error)
        logger.info("event=source_error kind=%s url=%s message=%s", error.kind, error.url, error.message)

    def _summarise_overflow(self) -> None:
        assert self.report is not None
        for kind, count in self._error_counts.items():
            if count > MAX_ERRORS_PER_KIND:
                self.report.errors.append(
                    SourceError(kind=kind, message=f"{count - MAX_ERRORS_PER_KIND} more {kind} errors not listed")
                )

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.report is None:
            return
        report = self.report
        report.finished_at = utcnow()
        self._summarise_overflow()
        if reason == "closespider_timeout":
            report.errors.append(
                SourceError(kind="timeout", message="the pass reached its time limit; the rest is fetched next pass")
            )
        fatal = [error for error in report.errors if error.kind not in NON_FATAL_KINDS]
        # No page could be read (all failed, or all were garbage): the source is down or broken.
        if report.pages == 0 and (fatal or report.requests == 0):
            report.ok = False
        self._error_counts.setdefault("timeout", 0)
        if reason == "closespider_timeout":
            self._error_counts["timeout"] += 1
        errors_by_kind = {kind: count for kind, count in sorted(self._error_counts.items()) if count}
        duration = (report.finished_at - report.started_at).total_seconds()
        # Health first: the runner treats the report's arrival as the crawl's end.
        _write_atomically(
            health_path(self.data_dir, report.pass_id, report.source_id),
            {
                "kind": self._spider_kind,
                "errors_by_kind": errors_by_kind,
                "parse_failures": len(self._failed_pages),
                "duration_s": round(duration, 3),
            },
        )
        _write_atomically(report_path(self.data_dir, report.pass_id, report.source_id), report.model_dump(mode="json"))
        logger.info(
            "event=crawl_report source_id=%s pass_id=%s ok=%s requests=%d pages=%d items=%d new_items=%d errors=%d",
            report.source_id,
            report.pass_id,
            report.ok,
            report.requests,
            report.pages,
            report.items,
            report.new_items,
            len(report.errors),
        )
