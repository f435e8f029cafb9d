"""Burst detection on synthetic count series: the last hour against the 12 before, the last day
against the 14 before, with the clock given explicitly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import poisson

from nlp.burst import (
    BUCKET,
    DAY_WINDOW,
    HISTORY,
    HOUR_WINDOW,
    BurstThresholds,
    BurstWindow,
    bucket_of,
    detect,
    poisson_tail,
    prune,
    window_counts,
)

NOW = datetime(2026, 11, 27, 14, 2, 30, tzinfo=UTC)


def series(events: list[datetime]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for when in events:
        counts[bucket_of(when)] = counts.get(bucket_of(when), 0) + 1
    return counts


def steady(per_hour: float, hours: float, *, seed: int = 1, end: datetime = NOW) -> list[datetime]:
    """Posts spread at random over the `hours` before `end`, `per_hour` on average."""
    rng = random.Random(seed)
    return [end - timedelta(hours=rng.uniform(0, hours)) for _ in range(round(per_hour * hours))]


def spread(count: int, start: datetime, end: datetime) -> list[datetime]:
    return [start + (end - start) * (i + 0.5) / count for i in range(count)]


def test_a_steady_topic_is_not_rising() -> None:
    counts = series(steady(4, 13))
    burst = detect(counts, NOW, HOUR_WINDOW)
    assert 2 <= burst.recent <= 8 and not burst.is_rising()


def test_a_jump_in_the_last_hour_is_rising() -> None:
    counts = series(steady(2, 13) + steady(20, 1, seed=2))
    burst = detect(counts, NOW, HOUR_WINDOW)
    assert burst.recent >= 20
    assert burst.ratio > 5 and burst.p_value < 1e-6
    assert burst.is_rising()


def test_a_new_topic_needs_a_minimum_volume() -> None:
    assert not detect(series(steady(2, 1)), NOW, HOUR_WINDOW).is_rising()  # 2 posts: could be anything
    new = detect(series(spread(6, NOW - timedelta(minutes=55), NOW)), NOW, HOUR_WINDOW)
    assert new.baseline == 0 and new.ratio == new.recent + 1 == 7 and new.is_rising()


def test_significance_ranks_a_big_rise_above_a_new_small_one() -> None:
    hour_ago = NOW - timedelta(minutes=55)
    small = detect(series(spread(4, hour_ago, NOW)), NOW, HOUR_WINDOW)
    big = detect(series(spread(120, NOW - timedelta(hours=12), hour_ago) + spread(40, hour_ago, NOW)), NOW, HOUR_WINDOW)
    assert (small.baseline, small.recent) == (0, 4) and big.recent == 40
    assert small.ratio > big.ratio  # by ratio alone the new topic of 4 posts would come first
    assert small.is_rising() and big.is_rising()
    assert big.p_value < small.p_value


def test_the_day_window_compares_with_the_fourteen_days_before() -> None:
    history = steady(10 / 24, 24 * 14, end=NOW - timedelta(days=1))
    quiet = detect(series(history + steady(12 / 24, 24, seed=5)), NOW, DAY_WINDOW)
    busy = detect(series(history + steady(60 / 24, 24, seed=6)), NOW, DAY_WINDOW)
    assert 120 <= quiet.baseline + quiet.recent <= 160 and not quiet.is_rising()
    assert busy.recent == 60 and busy.is_rising()
    assert busy.expected == pytest.approx(busy.baseline / 14, rel=0.01)


def test_posts_older_than_the_baseline_and_newer_than_now_do_not_count() -> None:
    counts = series(
        [
            NOW - timedelta(minutes=1),  # recent
            NOW - timedelta(hours=2),  # baseline
            NOW - timedelta(hours=14),  # before the baseline
            NOW + timedelta(hours=1),  # after now (a clock that lags the posts)
        ]
    )
    assert window_counts(counts, NOW, HOUR_WINDOW) == (1, 1)


def test_the_recent_window_is_the_current_bucket_and_the_eleven_before() -> None:
    start_of_current = datetime.fromtimestamp(bucket_of(NOW) * BUCKET.total_seconds(), UTC)
    inside = start_of_current - 11 * BUCKET
    outside = inside - timedelta(seconds=1)
    assert window_counts(series([inside]), NOW, HOUR_WINDOW) == (1, 0)
    assert window_counts(series([outside]), NOW, HOUR_WINDOW) == (0, 1)


@pytest.mark.parametrize(("observed", "expected"), [(0, 3.0), (1, 0.5), (3, 1.0), (12, 2.5), (40, 10.0), (150, 120.0)])
def test_poisson_tail_matches_scipy(observed: int, expected: float) -> None:
    assert poisson_tail(observed, expected) == pytest.approx(poisson.sf(observed - 1, expected), rel=1e-9, abs=1e-15)


def test_poisson_tail_edges() -> None:
    assert poisson_tail(0, 0.0) == 1.0
    assert (
        0 < detect(series(spread(3, NOW - timedelta(minutes=55), NOW)), NOW, HOUR_WINDOW).p_value < 0.01
    )  # no history: small, not zero
    assert poisson_tail(1, 0.0) == 0.0
    assert 0 < poisson_tail(500, 5.0) < 1e-300 or poisson_tail(500, 5.0) == 0.0


def test_thresholds_are_adjustable() -> None:
    burst = detect(series(steady(2, 13) + steady(6, 1, seed=7)), NOW, HOUR_WINDOW)
    assert burst.is_rising(BurstThresholds(min_count=3, min_ratio=1.5, max_p=0.05))
    assert not burst.is_rising(BurstThresholds(min_count=50))


def test_prune_keeps_only_the_history_the_windows_read() -> None:
    counts = series([NOW - timedelta(days=20), NOW - timedelta(days=14, hours=23), NOW])
    prune(counts, NOW)
    assert sorted(counts) == [bucket_of(NOW - timedelta(days=14, hours=23)), bucket_of(NOW)]
    assert timedelta(days=15) == HISTORY


def test_windows_and_times_are_checked() -> None:
    with pytest.raises(ValueError, match="at least one bucket"):
        BurstWindow("tiny", timedelta(minutes=1), timedelta(hours=1))
    with pytest.raises(ValueError, match="baseline"):
        BurstWindow("upside-down", timedelta(hours=2), timedelta(hours=1))
    with pytest.raises(ValueError, match="naive datetime"):
        bucket_of(datetime(2026, 1, 1))
