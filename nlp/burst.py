"""Burst detection: is a count series rising now, against its own recent past?

A series is a sparse map of time bucket -> count (bucket `i` covers `[i * bucket, (i + 1) * bucket)`
seconds since the Unix epoch, UTC). A `BurstWindow` compares the volume in the most recent window
(the last hour, the last day) with the volume of the baseline window right before it (the 12 hours,
the 14 days before that), so a burst is never diluted by its own posts.

The baseline gives the expected volume of the recent window (`baseline_count * recent / baseline`).
A series is rising when the recent count is at least `min_count`, at least `min_ratio` times the
expected count (smoothed by +1 on both sides, so a topic new this hour with 5 posts has ratio 6,
not infinity) and unlikely under a Poisson process at the baseline rate (`p_value` <= `max_p`; the
rate counts one baseline post more than seen, so a topic without history is not certain to burst).
Rising topics are ranked by that p-value, so a topic going from 40 to 120 posts comes before one
going from 1 to 3, whose ratio is higher.

Every function takes `now` explicitly: the caller's clock decides (tests inject one), nothing here
reads the system time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Width of one time bucket. Five minutes keeps "the last hour" within 5 minutes of exact while a
#: topic's 15 days of history stay at most 4,320 buckets (and far fewer: only non-empty ones are kept).
BUCKET = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class BurstWindow:
    """The recent window and the baseline right before it, e.g. the last hour against the 12 before."""

    name: str
    recent: timedelta
    baseline: timedelta

    def __post_init__(self) -> None:
        if self.recent < BUCKET or self.baseline < self.recent:
            raise ValueError(
                f"burst window {self.name!r}: recent ({self.recent}) must be at least one bucket ({BUCKET}) "
                f"and the baseline ({self.baseline}) at least as long as recent"
            )

    @property
    def span(self) -> timedelta:
        """How much history this window needs."""
        return self.recent + self.baseline


HOUR_WINDOW = BurstWindow("hour", timedelta(hours=1), timedelta(hours=12))
DAY_WINDOW = BurstWindow("day", timedelta(days=1), timedelta(days=14))
DEFAULT_WINDOWS: tuple[BurstWindow, ...] = (HOUR_WINDOW, DAY_WINDOW)
#: The longest history any default window reads; older buckets can be dropped.
HISTORY = max(w.span for w in DEFAULT_WINDOWS)


@dataclass(frozen=True, slots=True)
class BurstThresholds:
    min_count: int = 3
    min_ratio: float = 2.0
    max_p: float = 0.01


@dataclass(frozen=True, slots=True)
class Burst:
    window: str
    recent: int
    baseline: int
    expected: float
    ratio: float
    p_value: float

    def is_rising(self, thresholds: BurstThresholds = BurstThresholds()) -> bool:
        return (
            self.recent >= thresholds.min_count
            and self.ratio >= thresholds.min_ratio
            and self.p_value <= thresholds.max_p
        )


def bucket_of(when: datetime) -> int:
    """The bucket a timezone-aware time falls in."""
    if when.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone (times are stored as UTC)")
    return math.floor(when.astimezone(UTC).timestamp() / BUCKET.total_seconds())


def _buckets(span: timedelta) -> int:
    return max(1, round(span / BUCKET))


def window_counts(counts: Mapping[int, int], now: datetime, window: BurstWindow) -> tuple[int, int]:
    """(posts in the recent window, posts in the baseline before it); the bucket holding `now` is recent."""
    current = bucket_of(now)
    recent_start = current - _buckets(window.recent) + 1
    baseline_start = recent_start - _buckets(window.baseline)
    recent = baseline = 0
    for bucket, count in counts.items():
        if recent_start <= bucket <= current:
            recent += count
        elif baseline_start <= bucket < recent_start:
            baseline += count
    return recent, baseline


def poisson_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected), computed in log space (no overflow for large counts)."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    log_rate = math.log(expected)

    def log_term(i: int) -> float:
        return i * log_rate - expected - math.lgamma(i + 1)

    if observed > expected:
        # Above the mean the terms only shrink: sum the upper tail itself, so a tiny p-value stays
        # exact instead of becoming 1 - 0.99999... = 0.
        total, i = 0.0, observed
        while True:
            term = math.exp(log_term(i))
            total += term
            if term <= total * 1e-15 or i > observed + 10_000:
                return min(1.0, total)
            i += 1
    below = sum(math.exp(log_term(i)) for i in range(observed))
    return max(0.0, min(1.0, 1.0 - below))


def detect(counts: Mapping[int, int], now: datetime, window: BurstWindow) -> Burst:
    """The recent volume of one series against its baseline, in one window."""
    recent, baseline = window_counts(counts, now, window)
    share = _buckets(window.recent) / _buckets(window.baseline)
    expected = baseline * share
    ratio = (recent + 1) / (expected + 1)
    # The test assumes one more baseline post than seen: a topic without history then gets a small
    # expected volume instead of zero (where any count would have p = 0 and outrank every real rise).
    p_value = poisson_tail(recent, (baseline + 1) * share)
    return Burst(window.name, recent, baseline, round(expected, 3), round(ratio, 3), p_value)


def prune(counts: dict[int, int], now: datetime, keep: timedelta = HISTORY) -> None:
    """Drop buckets older than `keep` before `now` (in place)."""
    oldest = bucket_of(now) - _buckets(keep)
    for bucket in [b for b in counts if b < oldest]:
        del counts[bucket]
