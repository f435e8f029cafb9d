"""The pass's time limit, kept by the crawl itself so it ends cleanly before the runner's deadline.

Past `PATROL_DEADLINE_AT` (a Unix time: the runner fixes it before the process starts, so slow
start-up eats into the pass, not past it) the spider schedules nothing new, the retry middleware stops
retrying and `DeadlineMiddleware` drops requests still queued. In-flight downloads end (at most
`DOWNLOAD_TIMEOUT` later), the spider closes as "finished", the last batch lands and the report is
written; work not done is redone next pass because its state never advanced.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import BaseSettings


class PassDeadlineReached(IgnoreRequest):
    """A request dropped because the pass ran out of time."""


class PassDeadline:
    """The Unix time `PATROL_DEADLINE_AT` after which the pass winds down (none when unset or 0)."""

    def __init__(self, at: float | None) -> None:
        self.at = at or None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> PassDeadline:
        return cls(settings.getfloat("PATROL_DEADLINE_AT", 0.0))

    def passed(self) -> bool:
        return self.at is not None and time.time() >= self.at

    def describe(self) -> str:
        if self.at is None:
            return "no time limit"
        return "time limit " + datetime.fromtimestamp(self.at, UTC).strftime("%H:%M:%SZ")


class DeadlineMiddleware:
    """Downloader middleware dropping queued requests once the pass is out of time."""

    def __init__(self, deadline: PassDeadline) -> None:
        self.deadline = deadline

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DeadlineMiddleware:
        return cls(PassDeadline.from_settings(crawler.settings))

    def process_request(self, request: Request) -> None:
        if self.deadline.passed():
            raise PassDeadlineReached(f"pass {self.deadline.describe()} reached")
