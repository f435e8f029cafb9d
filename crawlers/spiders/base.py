"""What every patrol spider shares: its source, its state snapshot, its page budget, its error reporting.

A spider is started as `scrapy crawl <kind> -a source_id=ID -a pass_id=PASS`; it reads its source
from the sources file named by the `PATROL_SOURCES_FILE` setting and the previous passes' state from
`PATROL_DATA_DIR`. Decisions (what is new) are made against that snapshot; the landing pipeline
keeps its own copy and saves updates only behind landed posts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.selector import Selector
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    DNSLookupError,
    TCPTimedOutError,
)
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawlers.deadline import PassDeadline, PassDeadlineReached
from crawlers.encoding import DecodedPage, decode_page
from crawlers.middlewares import HostDownError, OffsiteRequest, RetryAfterTooLong
from crawlers.report import page_parsed, source_error
from crawlers.sources import SourceConfig, find_source
from crawlers.state import SourceState, StateFileError, load_state
from crawlers.timeparse import response_time
from crawlers.traps import TrapDetected, TrapGuard
from patrol.schema import SourceError, utcnow

_TIMEOUTS = (DownloadTimeoutError, TwistedTimeoutError, TCPTimedOutError)
_UNREACHABLE = (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    HostDownError,
    ConnectError,
    DNSLookupError,
    ConnectionLost,
    ConnectionDone,
)


def classify_failure(failure: Failure) -> tuple[str, str]:
    """The report's error kind and a one-line message for a failed request."""
    name = failure.type.__name__ if failure.type is not None else "Error"
    if isinstance(failure.value, HttpError):
        return "http_status", f"HTTP {failure.value.response.status}"
    if isinstance(failure.value, RetryAfterTooLong):
        return "http_status", str(failure.value)
    if isinstance(failure.value, OffsiteRequest):
        return "offsite", str(failure.value)
    if failure.check(DownloadCancelledError):
        return "too_large", f"larger than DOWNLOAD_MAXSIZE, not downloaded ({failure.getErrorMessage()})"
    if failure.check(ResponseDataLossError):
        return "truncated", f"the connection closed before the whole page arrived ({failure.getErrorMessage()})"
    if failure.check(*_TIMEOUTS):
        return "timeout", f"no answer in time ({name})"
    if failure.check(*_UNREACHABLE):
        return "unreachable", f"{name}: {failure.getErrorMessage()}"
    if failure.check(IgnoreRequest):
        message = failure.getErrorMessage()
        return ("robots_denied" if "robots" in message.lower() else "ignored"), message
    # Other transport failures (TLS, reset mid-response) also mean the page could not be fetched.
    return "unreachable", f"{name}: {failure.getErrorMessage()}"


#: Request priorities: a thread's pages before the next list page, so the queue holds a few lists'
#: worth of threads instead of every thread of every list page (memory stays flat on big forums).
LIST_PRIORITY = 0
ITEM_PRIORITY = 10
ITEM_NEXT_PRIORITY = 20


def is_cut_html(text: str) -> bool:
    """An HTML document (it opens with `<!DOCTYPE html` or `<html`) that never closes `</html>`."""
    head = text[:2048].lstrip().lower()
    if not (head.startswith("<!doctype html") or head.startswith("<html")):
        return False
    return "</html>" not in text[-4096:].lower()


class PatrolSpider(Spider):
    """Base of the patrol spiders; subclasses set `name` to the source kind they crawl."""

    source: SourceConfig
    snapshot: SourceState

    def __init__(self, source_id: str = "", pass_id: str = "", **kwargs: Any) -> None:
        if not source_id:
            raise ValueError(
                f"missing spider argument: run `scrapy crawl {self.name} -a source_id=<id> -a pass_id=<id>`"
            )
        super().__init__(**kwargs)
        self.source_id = source_id
        self.pass_id = pass_id or utcnow().strftime("adhoc-%Y%m%dT%H%M%SZ")
        self.pages_requested = 0
        self._budget_reported = False
        self._deadline_dropped = 0
        self._startup_errors: list[SourceError] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PatrolSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, PatrolSpider)
        spider.configure(crawler)
        return spider

    def configure(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.source = find_source(Path(settings["PATROL_SOURCES_FILE"]), self.source_id)
        if self.source.kind != self.name:
            raise ValueError(
                f"source {self.source_id!r} is of kind {self.source.kind!r}; run `scrapy crawl {self.source.kind}`"
            )
        self.allowed_domains = list(self.source.allowed_domains)
        self.start_urls = list(self.source.start_urls)
        self.data_dir = Path(settings["PATROL_DATA_DIR"])
        self.deadline = PassDeadline.from_settings(settings)
        self.traps = TrapGuard(
            max_pagination=settings.getint("PATROL_MAX_PAGINATION", 500),
            calendar_horizon_days=settings.getint("PATROL_CALENDAR_HORIZON_DAYS", 3650),
            calendar_max_dates=settings.getint("PATROL_CALENDAR_MAX_DATES", 60),
        )
        try:
            self.snapshot = load_state(self.data_dir, self.source_id)
        except StateFileError as exc:
            self.snapshot = SourceState(source_id=self.source_id)
            self._startup_errors.append(SourceError(kind="state", message=str(exc)))

    # --- reporting ------------------------------------------------------------------------------
    def report(self, kind: str, url: str, message: str) -> None:
        self.crawler.signals.send_catch_log(source_error, error=SourceError(kind=kind, url=url, message=message))

    def parsed(self) -> None:
        """Count a page read successfully (the report's `pages`)."""
        self.crawler.signals.send_catch_log(page_parsed)

    def report_startup_errors(self) -> None:
        for error in self._startup_errors:
            self.report(error.kind, error.url, error.message)
        self._startup_errors.clear()

    def event(self, name: str, **fields: Any) -> None:
        """One structured INFO line; never pass post text here."""
        extra = " ".join(f"{key}={value}" for key, value in fields.items())
        self.logger.info("event=%s source_id=%s pass_id=%s %s", name, self.source_id, self.pass_id, extra)

    def on_request_error(self, failure: Failure) -> None:
        if failure.check(PassDeadlineReached):
            self._out_of_time()
            return
        request = getattr(failure, "request", None)
        url = request.url if request is not None else ""
        kind, message = classify_failure(failure)
        self.report(kind, url, message)

    # --- requests under the page budget ---------------------------------------------------------
    def page_request(
        self,
        url: str,
        callback: Callable[..., Any],
        *,
        cb_kwargs: dict[str, Any] | None = None,
        errback: Callable[[Failure], Any] | None = None,
        dont_filter: bool = False,
        priority: int = 0,
    ) -> Request | None:
        """A request counted against `max_pages`, or None once the pass's budget or time is spent.

        Links other than the start URLs are checked for calendar traps first (see `crawlers.traps`).
        """
        if url not in self.start_urls and not self._safe_link(url):
            return None
        if self.deadline.passed():
            self._out_of_time()
            return None
        if self.pages_requested >= self.source.max_pages:
            if not self._budget_reported:
                self._budget_reported = True
                self.report("budget", url, f"max_pages={self.source.max_pages} reached; the rest waits for next pass")
            return None
        self.pages_requested += 1
        return Request(
            url,
            callback=callback,
            cb_kwargs=cb_kwargs or {},
            errback=errback or self.on_request_error,
            dont_filter=dont_filter,
            priority=priority,
        )

    def next_page_request(
        self,
        chain: str,
        current_url: str,
        next_url: str,
        callback: Callable[..., Any],
        *,
        cb_kwargs: dict[str, Any] | None = None,
        errback: Callable[[Failure], Any] | None = None,
        priority: int = LIST_PRIORITY,
    ) -> Request | None:
        """`page_request` for a "next page" link of `chain`, refused (reported as `trap`) when the
        chain loops or runs deeper than `PATROL_MAX_PAGINATION`."""
        self.traps.start_chain(chain, current_url)
        try:
            self.traps.check_next(chain, next_url)
        except TrapDetected as exc:
            self.report("trap", next_url, str(exc))
            return None
        return self.page_request(next_url, callback, cb_kwargs=cb_kwargs, errback=errback, priority=priority)

    def repeats_previous_page(self, chain: str, items: tuple[str, ...], url: str) -> bool:
        """True (and reported as `trap`) when this page of `chain` shows the previous page's items."""
        try:
            self.traps.check_items(chain, items, url)
        except TrapDetected as exc:
            self.report("trap", url, str(exc))
            return True
        return False

    def _safe_link(self, url: str) -> bool:
        try:
            self.traps.check_link(url, now=utcnow())
        except TrapDetected as exc:
            self.report("trap", url, str(exc))
            return False
        return True

    def _out_of_time(self) -> None:
        self._deadline_dropped += 1
        if self._deadline_dropped == 1:
            self.report(
                "timeout",
                "",
                f"pass {self.deadline.describe()} reached; what is left is fetched next pass",
            )

    # --- responses ------------------------------------------------------------------------------
    def start_pages(self, callback: Callable[[Response], Any]) -> Iterator[Request]:
        """One unfiltered request per start URL (within the page budget), parsed by `callback`."""
        self.report_startup_errors()
        for url in self.start_urls:
            request = self.page_request(url, callback, dont_filter=True)
            if request is not None:
                yield request

    def html_selector(self, response: Response) -> Selector | None:
        """The page's selector, or None when it is not text; `response.meta["cut"]` says whether
        the HTML stops before its end."""
        page = self.decode(response)
        if page is None:
            return None
        response.meta["cut"] = self.truncated(response, page.text)
        return Selector(text=page.text, type="html", base_url=response.url)

    def decode(self, response: Response) -> DecodedPage | None:
        """The page's text, or None (reported as `bad_html`) when it is not text at all."""
        content_type = response.headers.get(b"Content-Type")
        if not isinstance(response, TextResponse):
            shown = content_type.decode("latin-1") if content_type else "none"
            self.report("bad_html", response.url, f"not a text page (Content-Type: {shown})")
            return None
        if b"\x00" in response.body[:4096]:
            self.report("bad_html", response.url, "binary bytes (NUL) where a text page was expected")
            return None
        page = decode_page(response.body, content_type)
        if page.charset_mismatch:
            self.report("charset_mismatch", response.url, page.mismatch_message)
        return page

    def truncated(self, response: Response, text: str) -> bool:
        """True (and reported as `truncated`) when an HTML page stops before its end.

        The server sent every byte it announced, but the document itself is cut (a full disk, a
        crashed template): what it holds is read, its last record may be cut and is left out, and
        no state advances on it, so the page is fetched again next pass.
        """
        if not is_cut_html(text):
            return False
        self.report("truncated", response.url, "the HTML stops before </html>; the last record on it is left out")
        return True

    @staticmethod
    def rendered_at(response: Response) -> datetime:
        """The moment the server rendered the page, to resolve relative times against."""
        return response_time(response.headers.get(b"Date"), fetched_at=utcnow())
