"""Quiet hours: a subscriber's local night (or meeting hours) when non-urgent alerts wait.

Times are local (Asia/Shanghai). A span whose start is after its end wraps midnight: 22:00-07:00
is quiet from 22:00 until 07:00 the next morning. Life-safety alerts ignore quiet hours entirely;
the caller decides that, this module only does the clock arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(start: str | None, end: str | None, at: datetime, zone: ZoneInfo = LOCAL_ZONE) -> datetime | None:
    """The UTC time the quiet span around `at` ends, or None when `at` is not in quiet hours."""
    if not start or not end:
        return None
    quiet_start, quiet_end = _hhmm(start), _hhmm(end)
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if quiet_start < quiet_end:
        if not quiet_start <= now < quiet_end:
            return None
        end_day = local.date()
    else:
        if quiet_end <= now < quiet_start:
            return None
        end_day = local.date() + timedelta(days=1) if now >= quiet_start else local.date()
    return datetime.combine(end_day, quiet_end, tzinfo=zone).astimezone(UTC)
