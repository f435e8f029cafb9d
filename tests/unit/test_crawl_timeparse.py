"""Site times (absolute, relative, month-day) to aware UTC, resolved against the response time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawlers.timeparse import SiteTimeError, is_approximate, parse_site_time, response_time

SHANGHAI = timezone(timedelta(hours=8))
# The site clock: 2026-11-28 10:00 in Harbin (02:00 UTC).
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A Beijing wall-clock time, in UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚刚", NOW),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("5 分钟前", NOW - timedelta(minutes=5)),
        ("3 小时前", NOW - timedelta(hours=3)),
        ("3小时前", NOW - timedelta(hours=3)),
        ("3\xa0小时前", NOW - timedelta(hours=3)),  # Discuz writes &nbsp;
        ("半小时前", NOW - timedelta(minutes=30)),
        ("30 秒前", NOW - timedelta(seconds=30)),
        ("3\xa0天前", NOW - timedelta(days=3)),
        ("昨天 21:05", sh(2026, 11, 27, 21, 5)),
        ("昨天\xa021:05", sh(2026, 11, 27, 21, 5)),
        ("前天 07:22", sh(2026, 11, 26, 7, 22)),
        ("今天 08:01", sh(2026, 11, 28, 8, 1)),
        ("11-27", sh(2026, 11, 27)),
        ("11-27 21:05", sh(2026, 11, 27, 21, 5)),
        ("2025-11-27", sh(2025, 11, 27)),
        ("2026-11-27 21:05", sh(2026, 11, 27, 21, 5)),
        ("2026-11-27 21:05:09", sh(2026, 11, 27, 21, 5, 9)),
        ("2020-7-30", sh(2020, 7, 30)),
        ("2020-8-2 13:11", sh(2020, 8, 2, 13, 11)),
        ("2026年11月27日 21:05", sh(2026, 11, 27, 21, 5)),
        ("发表于 2026-11-27 21:05", sh(2026, 11, 27, 21, 5)),
        ("发表于 3 小时前", NOW - timedelta(hours=3)),
        ("Sat Jun 14 10:20:01 +0800 2019", sh(2019, 6, 14, 10, 20, 1)),
        ("2026-11-27T13:05:00+00:00", datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),
    ],
)
def test_site_times_resolve_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_site_time(text, now=NOW)
    assert parsed == expected
    assert parsed.tzinfo == UTC


def test_month_day_after_today_is_last_year() -> None:
    assert parse_site_time("12-25", now=NOW) == sh(2025, 12, 25)


def test_yesterday_is_the_shanghai_yesterday_not_the_utc_one() -> None:
    # 00:30 in Harbin is still the previous day in UTC; "昨天" must follow the site's calendar.
    just_after_midnight = datetime(2026, 11, 28, 0, 30, tzinfo=SHANGHAI)
    assert parse_site_time("昨天 23:50", now=just_after_midnight) == sh(2026, 11, 27, 23, 50)
    assert parse_site_time("11-28", now=just_after_midnight) == sh(2026, 11, 28)


def test_relative_times_use_the_given_now_not_the_machine_clock() -> None:
    old_now = datetime(2020, 8, 2, 16, 0, tzinfo=SHANGHAI)
    assert parse_site_time("3 小时前", now=old_now) == sh(2020, 8, 2, 13, 0)


@pytest.mark.parametrize("text", ["", "   ", "上周", "明天 10:00", "2026-13-45", "02-30", "昨天 25:70", "abc"])
def test_unreadable_times_raise(text: str) -> None:
    with pytest.raises(SiteTimeError):
        parse_site_time(text, now=NOW)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_site_time("刚刚", now=datetime(2026, 11, 28, 10, 0))


def test_approximate_marks_offsets_only() -> None:
    assert is_approximate("3\xa0小时前")
    assert is_approximate("半小时前")
    assert is_approximate("刚刚")
    assert not is_approximate("昨天 21:05")
    assert not is_approximate("2026-11-27 21:05")


@given(st.integers(min_value=0, max_value=59), st.integers(min_value=0, max_value=23))
def test_minutes_and_hours_ago_round_trip(minutes: int, hours: int) -> None:
    assert parse_site_time(f"{minutes}分钟前", now=NOW) == NOW - timedelta(minutes=minutes)
    assert parse_site_time(f"{hours} 小时前", now=NOW) == NOW - timedelta(hours=hours)


def test_response_time_prefers_the_server_date_header() -> None:
    fetched = datetime(2030, 1, 1, tzinfo=UTC)
    assert response_time(b"Sat, 28 Nov 2026 02:00:00 GMT", fetched_at=fetched) == NOW
    assert response_time(None, fetched_at=fetched) == fetched
    assert response_time(b"not a date", fetched_at=fetched) == fetched


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1567584000", datetime(2019, 9, 4, 8, 0, tzinfo=UTC)),  # epoch seconds
        ("1567584000123", datetime(2019, 9, 4, 8, 0, 0, 123000, tzinfo=UTC)),  # epoch milliseconds
        ("Tue, 27 Dec 2005 13:08:54 +0900", datetime(2005, 12, 27, 4, 8, 54, tzinfo=UTC)),  # RFC 822
        ("Tue, 27 Dec 2005 13:08:54+0900", datetime(2005, 12, 27, 4, 8, 54, tzinfo=UTC)),
        ("Sat, 17 Dec 2005 15:21:36 GMT", datetime(2005, 12, 17, 15, 21, 36, tzinfo=UTC)),
        ("27 Dec 2005 13:08 -0000", sh(2005, 12, 27, 13, 8)),  # "-0000": zone unknown, so Beijing
        ("2019-9-5", sh(2019, 9, 5)),
        ("2019/09/05 10:20", sh(2019, 9, 5, 10, 20)),
        ("2020-05", sh(2020, 5, 1)),  # Tieba's creation month
        ("2019-09-05 下午 3:20", sh(2019, 9, 5, 15, 20)),
        ("下午3:20", sh(2026, 11, 28, 15, 20)),
        ("晚上 9:05", sh(2026, 11, 28, 21, 5)),
        ("05/20 7:03 am", sh(2026, 5, 20, 7, 3)),
        ("12:30 am", sh(2026, 11, 28, 0, 30)),
        ("2019-09-09T19:32:27", sh(2019, 9, 9, 19, 32, 27)),  # ISO without a zone: Beijing
    ],
)
def test_more_site_time_shapes(text: str, expected: datetime) -> None:
    assert parse_site_time(text, now=NOW) == expected


def test_parse_epoch_takes_numbers() -> None:
    from crawlers.timeparse import parse_epoch

    assert parse_epoch(1567584000) == datetime(2019, 9, 4, 8, 0, tzinfo=UTC)
    assert parse_epoch(1567584000123) == parse_epoch("1567584000.123")
