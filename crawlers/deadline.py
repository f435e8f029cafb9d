"""The pass's time limit, kept by the crawl itself so it ends cleanly before the runner's deadline.

Past `PATROL_DEADLINE_S` seconds the spider schedules nothing new, the retry middleware stops
retrying and `DeadlineMiddleware` drops requests still queued. In-flight downloads end (at most
`DOWNLOAD_TIMEOUT` later), the spider closes as "finished", the last batch lands and the report is
written; work not done is redone next pass because its state never advanced.
"""

from __future__ import annotations

import time

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import BaseSettings


class PassDeadlineReached(IgnoreRequest):
    """A request dropped because the pass ran out of time."""


class PassDeadline:
    """A monotonic deadline `PATROL_DEADLINE_S` seconds after creation (none when unset or 0)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds if seconds else None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> PassDeadline:
        return cls(settings.getfloat("PATROL_DEADLINE_S", 0.0) or None)

    def passed(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at


class DeadlineMiddleware:
    """Downloader middleware dropping queued requests once the pass is out of time."""

    def __init__(self, deadline: PassDeadline) -> None:
        self.deadline = deadline

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DeadlineMiddleware:
        return cls(PassDeadline.from_settings(crawler.settings))

    def process_request(self, request: Request) -> None:
        if self.deadline.passed():
            raise PassDeadlineReached(f"pass time limit ({self.deadline.seconds:.0f}s) reached")
