"""ISO weeks as people in Harbin live them: Monday 00:00 to Monday 00:00, Asia/Shanghai time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

REPORT_ZONE = ZoneInfo("Asia/Shanghai")

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


class WeekError(ValueError):
    """A week label that is not an ISO week such as 2026-W47."""


@dataclass(frozen=True, order=True)
class ReportWeek:
    """One ISO week; `start` and `end` are local midnights (aware), `end` exclusive."""

    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError as exc:
            raise WeekError(f"{self.year}-W{self.week:02d} does not exist: ISO years have 52 or 53 weeks") from exc

    @classmethod
    def parse(cls, label: str) -> ReportWeek:
        match = _WEEK.match(label.strip())
        if match is None:
            raise WeekError(f"{label!r} is not an ISO week; write it as YYYY-Www, e.g. 2026-W47")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: datetime) -> ReportWeek:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: attach a timezone")
        year, week, _ = moment.astimezone(REPORT_ZONE).isocalendar()
        return cls(year, week)

    @classmethod
    def last_complete(cls, now: datetime) -> ReportWeek:
        """The most recent week that has ended by `now` (what a Monday-morning run reports)."""
        return cls.containing(now).shifted(-1)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def first_day(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(7)]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time(), tzinfo=REPORT_ZONE)

    @property
    def end(self) -> datetime:
        return self.shifted(1).start

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)

    def shifted(self, weeks: int) -> ReportWeek:
        year, week, _ = (self.first_day + timedelta(weeks=weeks)).isocalendar()
        return ReportWeek(year, week)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return self.label
