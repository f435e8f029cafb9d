"""How long a failing source waits before its next try, and the record of each source's health."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class BackoffPolicy:
    """After n failures in a row a source waits `interval * factor**(n-1)`, at most `max_delay_s`.

    The first failure keeps the normal interval (a one-off timeout is not a pattern); from the
    second on the wait doubles. A small deterministic jitter (0-10 %, from the source id and the
    failure count) keeps sources that failed together from retrying in lockstep. After
    `report_after` failures in a row the source is reported as failing (an ERROR log line each turn,
    the status file, `patrol_source_consecutive_failures`).
    """

    factor: float = 2.0
    max_delay_s: float = 6 * 3600.0
    report_after: int = 3
    jitter: float = 0.1

    def delay_s(self, source_id: str, interval_s: float, failures: int) -> float:
        if failures <= 0:
            return interval_s
        digest = hashlib.sha256(f"{source_id}:{failures}".encode()).digest()
        spread = int.from_bytes(digest[:2], "big") / 0xFFFF * self.jitter
        raw = interval_s * self.factor ** min(failures - 1, 64) * (1 + spread)
        # Never sooner than the source's own interval, never later than the cap (unless the interval is).
        return max(interval_s, min(self.max_delay_s, raw))

    def is_reported(self, failures: int) -> bool:
        return failures >= self.report_after


class SourceHealth(BaseModel):
    """One source as the scheduler sees it; written to the status file after every turn."""

    source_id: str
    interval_s: float
    consecutive_failures: int = 0
    failing: bool = Field(False, description="failed `report_after` times in a row or more")
    last_error: str | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_success_at: datetime | None = None
    next_attempt_at: datetime | None = None
    turns: int = 0
    busy_skips: int = Field(0, description="turns skipped because another process worked the source")
