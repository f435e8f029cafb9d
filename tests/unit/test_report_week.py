"""ISO weeks in Asia/Shanghai: parsing, boundaries in local time, year ends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patrol.reports.week import REPORT_ZONE, ReportWeek, WeekError


def test_parse_and_label() -> None:
    week = ReportWeek.parse("2026-W47")
    assert (week.year, week.week, week.label) == (2026, 47, "2026-W47")
    assert ReportWeek.parse("2026w7").label == "2026-W07"
    assert week.first_day == date(2026, 11, 16) and week.days[-1] == date(2026, 11, 22)


@pytest.mark.parametrize("label", ["2026-47", "W47", "2026-W54", "2025-W53", "2026-W00", ""])
def test_bad_labels_say_how_to_write_a_week(label: str) -> None:
    with pytest.raises(WeekError, match=r"W"):
        ReportWeek.parse(label)


def test_week_bounds_are_local_midnights() -> None:
    week = ReportWeek(2026, 47)
    assert week.start == datetime(2026, 11, 16, tzinfo=REPORT_ZONE)
    assert week.start_utc == datetime(2026, 11, 15, 16, tzinfo=UTC)
    assert week.end_utc == datetime(2026, 11, 22, 16, tzinfo=UTC)


def test_containing_uses_shanghai_time_not_utc() -> None:
    # Sunday 15:59 UTC is Sunday 23:59 in Shanghai (W47); 16:00 UTC is Monday 00:00 (W48).
    assert ReportWeek.containing(datetime(2026, 11, 22, 15, 59, tzinfo=UTC)).label == "2026-W47"
    assert ReportWeek.containing(datetime(2026, 11, 22, 16, 0, tzinfo=UTC)).label == "2026-W48"
    with pytest.raises(ValueError, match="naive"):
        ReportWeek.containing(datetime(2026, 11, 22))


def test_last_complete_week_of_a_monday_morning_run() -> None:
    monday_8am = datetime(2026, 11, 30, 8, tzinfo=REPORT_ZONE)
    assert ReportWeek.last_complete(monday_8am).label == "2026-W48"
    assert ReportWeek.last_complete(monday_8am.astimezone(UTC)).label == "2026-W48"


def test_shifting_across_year_ends() -> None:
    assert ReportWeek(2026, 1).shifted(-1).label == "2025-W52"
    assert ReportWeek(2021, 1).shifted(-1).label == "2020-W53"  # a 53-week year
    assert ReportWeek(2026, 47).shifted(-4).label == "2026-W43"
    assert ReportWeek(2026, 47).contains(datetime(2026, 11, 22, 23, 30, tzinfo=REPORT_ZONE))
