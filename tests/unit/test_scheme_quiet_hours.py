"""Quiet hours in local (Asia/Shanghai) time, including spans that wrap midnight."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patrol.schemes.quiet_hours import LOCAL_ZONE, quiet_until


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_ZONE)


@pytest.mark.parametrize(
    ("at", "until"),
    [
        (local(26, 23), local(27, 7)),  # after the start: ends tomorrow morning
        (local(27, 2, 30), local(27, 7)),  # after midnight: ends this morning
        (local(26, 22), local(27, 7)),  # the start itself is quiet
        (local(27, 7), None),  # the end is not
        (local(26, 12), None),
        (local(26, 21, 59), None),
    ],
)
def test_overnight_span(at: datetime, until: datetime | None) -> None:
    expected = until.astimezone(UTC) if until else None
    assert quiet_until("22:00", "07:00", at.astimezone(UTC)) == expected


def test_daytime_span_and_no_span() -> None:
    assert quiet_until("12:00", "13:30", local(26, 12, 15).astimezone(UTC)) == local(26, 13, 30).astimezone(UTC)
    assert quiet_until("12:00", "13:30", local(26, 13, 30).astimezone(UTC)) is None
    assert quiet_until(None, None, local(26, 23).astimezone(UTC)) is None


def test_answers_in_utc_whatever_zone_the_question_came_in() -> None:
    # 15:30 UTC is 23:30 in Harbin: quiet until 07:00 local, 23:00 UTC.
    assert quiet_until("22:00", "07:00", datetime(2026, 11, 26, 15, 30, tzinfo=UTC)) == datetime(
        2026, 11, 26, 23, 0, tzinfo=UTC
    )
