"""Retry with exponential backoff honouring `Retry-After`, stay on the source's domains, and stop
knocking on a host that is down.

Scrapy's retry middleware re-queues a failed request at once; a site that is briefly overloaded
(503, reset connections) is better served by waiting longer after each failure. The wait is
`RETRY_BACKOFF_BASE * 2**(attempt-1)` seconds, capped at `RETRY_BACKOFF_MAX`, plus up to 10%
jitter so parallel retries do not arrive together.

A 429 or 503 carrying `Retry-After` (seconds or an HTTP date) is retried no sooner than the server
asked, and the site's download slot is slowed to at least that delay, so the other queued requests
to it wait as well. A wait longer than `RETRY_AFTER_MAX` is not worth holding the pass for: the
request is given up with the server's answer, reported, and fetched next pass.

`StrictOffsiteMiddleware` replaces Scrapy's offsite filter: that one lets requests marked
`dont_filter` (start URLs, and every redirect of them) through to any host, so a start page that
redirects to another domain would be followed. This one checks every request, redirects included.

A host that refused connections or did not resolve through all retries is marked down for the
rest of the pass: its remaining requests fail at once with `HostDownError` instead of each
going through the same retries, so a dead source is reported in seconds.
"""

from __future__ import annotations

import logging
import random
import re
from email.utils import parsedate_to_datetime

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import ConnectionRefusedError as TwistedConnectionRefusedError
from twisted.internet.error import DNSLookupError, TCPTimedOutError

from crawlers.deadline import PassDeadline
from patrol.schema import utcnow

logger = logging.getLogger(__name__)

_HOST_DOWN_ERRORS = (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DNSLookupError,
    TwistedConnectionRefusedError,
    TCPTimedOutError,
)


class HostDownError(Exception):
    """The host refused connections or did not resolve earlier in this pass."""


class RetryAfterTooLong(IgnoreRequest):
    """The server asked us to come back later than this pass can wait."""

    def __init__(self, status: int, wait_s: float, limit_s: float) -> None:
        super().__init__(
            f"HTTP {status} with Retry-After {wait_s:.0f}s (longer than RETRY_AFTER_MAX={limit_s:.0f}s); "
            "the page is fetched next pass"
        )
        self.status = status


class OffsiteRequest(IgnoreRequest):
    """A request (or a redirect) to a host outside the source's allowed domains."""


def retry_after_seconds(value: bytes | str | None, *, now_ts: float) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_ts)


class BackoffRetryMiddleware(RetryMiddleware):
    """`RetryMiddleware` that sleeps before handing back the retry request."""

    backoff_base: float
    backoff_max: float
    retry_after_max: float
    down_hosts: set[str]
    deadline: PassDeadline
    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = super().from_crawler(crawler)
        middleware.backoff_base = crawler.settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        middleware.backoff_max = crawler.settings.getfloat("RETRY_BACKOFF_MAX", 30.0)
        middleware.retry_after_max = crawler.settings.getfloat("RETRY_AFTER_MAX", 120.0)
        middleware.crawler = crawler
        middleware.down_hosts = set()
        middleware.deadline = PassDeadline.from_settings(crawler.settings)
        return middleware

    def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        if host in self.down_hosts:
            raise HostDownError(f"{host} refused connections or did not resolve earlier in this pass")

    def backoff_delay(self, retry_times: int) -> float:
        """Seconds to wait before the `retry_times`-th retry (1-based)."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(0, retry_times - 1))
        return delay * (1 + random.uniform(0, 0.1))

    def _retry(self, request: Request, reason: str | Exception | type[Exception]) -> Request | None:
        # Out of time: a retry would only hold up the clean end of the pass.
        return None if self.deadline.passed() else super()._retry(request, reason)

    async def _wait(self, retry: Request | None, at_least: float = 0.0) -> None:
        if retry is None or (self.backoff_base <= 0 and at_least <= 0):
            return
        delay = self.backoff_delay(int(retry.meta.get("retry_times", 1))) if self.backoff_base > 0 else 0.0
        delay = max(delay, at_least)
        logger.debug("event=retry_backoff url=%s delay_s=%.2f", retry.url, delay)
        await sleep(delay)

    def _slow_down_site(self, request: Request, delay: float) -> None:
        """Make every queued request to this site wait, not only the retried one."""
        engine = self.crawler.engine
        if engine is None:
            return
        downloader = engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None and slot.delay < delay:
            slot.delay = delay

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        asked = None
        if response.status in (429, 503):
            asked = retry_after_seconds(response.headers.get(b"Retry-After"), now_ts=utcnow().timestamp())
        if asked is not None and asked > self.retry_after_max:
            raise RetryAfterTooLong(response.status, asked, self.retry_after_max)
        retry = self._retry(request, f"HTTP {response.status}")
        if asked is not None and retry is not None:
            self._slow_down_site(request, min(asked, self.backoff_max))
            logger.info("event=retry_after url=%s status=%d wait_s=%.1f", request.url, response.status, asked)
        await self._wait(retry, at_least=asked or 0.0)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        retry = self._retry(request, exception)
        if retry is None and isinstance(exception, _HOST_DOWN_ERRORS):
            self.down_hosts.add(urlparse_cached(request).hostname or "")
        await self._wait(retry)
        return retry


class StrictOffsiteMiddleware:
    """Downloader middleware dropping any request, `dont_filter` and redirects included, to a host
    outside the spider's `allowed_domains` (a domain allows its subdomains; no domains: all)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._domains: tuple[str, ...] | None = None
        self._regex: re.Pattern[str] = re.compile("")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StrictOffsiteMiddleware:
        return cls(crawler)

    def _host_regex(self, spider: Spider) -> re.Pattern[str]:
        domains = tuple(domain for domain in getattr(spider, "allowed_domains", None) or [] if domain)
        if domains != self._domains:
            self._domains = domains
            alternatives = "|".join(re.escape(domain) for domain in domains)
            self._regex = re.compile(rf"^(.*\.)?({alternatives})$") if domains else re.compile("")
        return self._regex

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        if spider is None or request.meta.get("allow_offsite"):
            return
        host = urlparse_cached(request).hostname or ""
        if self._host_regex(spider).search(host):
            return
        redirected_from = request.meta.get("redirect_urls")
        if redirected_from:
            raise OffsiteRequest(
                f"redirected from {redirected_from[0]} to {host!r}, outside the source's domains "
                f"({', '.join(self._domains or ())}); not followed"
            )
        raise OffsiteRequest(f"link to {host!r} is outside the source's domains; not followed")
