"""Site times to aware UTC.

Forums and weibo print times in Asia/Shanghai and, for recent posts, relative to the moment the page
was rendered (`3 小时前`, `昨天 21:05`, `刚刚`). A relative time means nothing without that moment, so
every parse takes `now`: the response time (the server's `Date` header when it has one).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

SITE_TZ = ZoneInfo("Asia/Shanghai")

_UNIT_SECONDS = {"秒": 1, "分钟": 60, "分": 60, "小时": 3600, "天": 86400, "周": 7 * 86400}
_RELATIVE = re.compile(r"^(\d+)\s*(秒|分钟|分|小时|天|周)\s*前$")
_HALF = re.compile(r"^半\s*(分钟|小时)\s*前$")
_DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_FULL_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_CLOCK_ONLY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# m.weibo.cn's other style: "Sat Jun 14 10:20:01 +0800 2019".
_WEIBO_API = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2} \d{2}:\d{2}:\d{2} [+-]\d{4} \d{4}$")
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}


class SiteTimeError(ValueError):
    """A time string no known site format matches."""


def _clean(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\u3000", " ").strip()
    text = re.sub(r"^(发表于|发布于|更新于|最后回复于)\s*", "", text)
    return re.sub(r"\s+", " ", text)


def _local(day: date, hour: int, minute: int, second: int, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=tz)


def _int(value: str | None) -> int:
    return int(value) if value else 0


def parse_site_time(text: str, *, now: datetime, tz: tzinfo = SITE_TZ) -> datetime:
    """Parse a site time (absolute or relative to `now`) into an aware UTC datetime.

    `now` must be aware; naive site times are read in `tz` (Asia/Shanghai by default). A month-day
    without a year (`11-27`) is the latest such date not after `now`'s day.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (use the response time in UTC)")
    cleaned = _clean(text)
    if not cleaned:
        raise SiteTimeError("empty time string")
    local_now = now.astimezone(tz)
    try:
        parsed = _parse_cleaned(cleaned, now=now, local_now=local_now, tz=tz)
    except SiteTimeError:
        raise
    except ValueError as exc:  # a field out of range: 25:70, month 13
        raise SiteTimeError(f"impossible date or time {text!r}: {exc}") from exc
    if parsed is None:
        raise SiteTimeError(f"unrecognised site time {text!r}")
    return parsed.astimezone(UTC)


def _parse_cleaned(cleaned: str, *, now: datetime, local_now: datetime, tz: tzinfo) -> datetime | None:
    if cleaned in ("刚刚", "刚才", "just now"):
        return now
    if match := _RELATIVE.match(cleaned):
        return now - timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if match := _HALF.match(cleaned):
        return now - timedelta(seconds=_UNIT_SECONDS[match.group(1)] // 2)
    if match := _DAY_WORD.match(cleaned):
        day = local_now.date() - timedelta(days=_DAYS_BACK[match.group(1)])
        return _local(day, int(match.group(2)), int(match.group(3)), _int(match.group(4)), tz)
    if match := _FULL_DATE.match(cleaned):
        year, month, day_of_month = (int(match.group(n)) for n in (1, 2, 3))
        hour, minute, second = (_int(match.group(n)) for n in (4, 5, 6))
        try:
            return datetime(year, month, day_of_month, hour, minute, second, tzinfo=tz)
        except ValueError as exc:
            raise SiteTimeError(f"impossible date or time {cleaned!r}") from exc
    if match := _MONTH_DAY.match(cleaned):
        return _month_day(match, local_now=local_now, tz=tz)
    if match := _CLOCK_ONLY.match(cleaned):
        # A bare clock time is today's; sites print it for posts of the current day.
        return _local(local_now.date(), int(match.group(1)), int(match.group(2)), _int(match.group(3)), tz)
    if _WEIBO_API.match(cleaned):
        return datetime.strptime(cleaned, "%a %b %d %H:%M:%S %z %Y")
    try:
        iso = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return iso if iso.tzinfo is not None else iso.replace(tzinfo=tz)


def _month_day(match: re.Match[str], *, local_now: datetime, tz: tzinfo) -> datetime:
    month, day_of_month = int(match.group(1)), int(match.group(2))
    clock = (_int(match.group(3)), _int(match.group(4)), _int(match.group(5)))
    year = local_now.year
    # Sites drop the year for the current year; a month-day after today must be last year's.
    if (month, day_of_month) > (local_now.month, local_now.day):
        year -= 1
    try:
        return datetime(year, month, day_of_month, *clock, tzinfo=tz)
    except ValueError as exc:  # 02-29 in a year without it
        raise SiteTimeError(f"impossible date {month:02d}-{day_of_month:02d} in {year}") from exc


def is_approximate(text: str) -> bool:
    """True for offsets from now (`3 小时前`, `半小时前`, `刚刚`): their value drifts from pass to pass."""
    cleaned = _clean(text)
    return cleaned in ("刚刚", "刚才", "just now") or bool(_RELATIVE.match(cleaned) or _HALF.match(cleaned))


def response_time(date_header: bytes | str | None, *, fetched_at: datetime) -> datetime:
    """The moment a page was rendered: the server's `Date` header, else when we fetched it.

    Relative times on the page were computed from the server's clock, so the header is the
    right reference; a missing or unparseable header falls back to our own clock.
    """
    if date_header:
        raw = date_header.decode("latin-1") if isinstance(date_header, bytes) else date_header
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    return fetched_at.astimezone(UTC)
