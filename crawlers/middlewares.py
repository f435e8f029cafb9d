"""Retry with exponential backoff, and stop knocking on a host that is down.

Scrapy's retry middleware re-queues a failed request at once; a site that is briefly overloaded
(503, reset connections) is better served by waiting longer after each failure. The wait is
`RETRY_BACKOFF_BASE * 2**(attempt-1)` seconds, capped at `RETRY_BACKOFF_MAX`, plus up to 10%
jitter so parallel retries do not arrive together.

A host that refused connections or did not resolve through all retries is marked down for the
rest of the pass: its remaining requests fail at once with `HostDownError` instead of each
going through the same retries, so a dead source is reported in seconds.
"""

from __future__ import annotations

import logging
import random

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import ConnectionRefusedError as TwistedConnectionRefusedError
from twisted.internet.error import DNSLookupError, TCPTimedOutError

from crawlers.deadline import PassDeadline

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


class BackoffRetryMiddleware(RetryMiddleware):
    """`RetryMiddleware` that sleeps before handing back the retry request."""

    backoff_base: float
    backoff_max: float
    down_hosts: set[str]
    deadline: PassDeadline

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = super().from_crawler(crawler)
        middleware.backoff_base = crawler.settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        middleware.backoff_max = crawler.settings.getfloat("RETRY_BACKOFF_MAX", 30.0)
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

    async def _wait(self, retry: Request | None) -> None:
        if retry is None or self.backoff_base <= 0:
            return
        delay = self.backoff_delay(int(retry.meta.get("retry_times", 1)))
        logger.debug("event=retry_backoff url=%s delay_s=%.2f", retry.url, delay)
        await sleep(delay)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        await self._wait(retry)
        return retry or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        retry = self._retry(request, exception)
        if retry is None and isinstance(exception, _HOST_DOWN_ERRORS):
            self.down_hosts.add(urlparse_cached(request).hostname or "")
        await self._wait(retry)
        return retry
