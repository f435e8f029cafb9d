"""Site times to aware UTC.

Forums and weibo print times in Asia/Shanghai and, for recent posts, relative to the moment the page
was rendered (`3 小时前`, `昨天 21:05`, `刚刚`). A relative time means nothing without that moment, so
every parse takes `now`: the response time (the server's `Date` header when it has one).

Also understood: full and partial dates (`2019-9-5`, `2019年09月05日 10:20`, `11-27`, `2020-05`),
ISO 8601, RFC 822 (`Tue, 27 Dec 2005 13:08:54 +0900`, feeds and HTTP), Unix epochs in seconds or
milliseconds (`1567584000`, APIs and `data-time` attributes) and a 12-hour clock (`7:03 pm`,
`下午 3:20`). A time without a zone is Asia/Shanghai's.
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
_EPOCH = re.compile(r"^(\d{10}|\d{13})(?:\.\d+)?$")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
# "Tue, 27 Dec 2005 13:08:54 +0900", "27 Dec 2005 13:08 GMT": a day-month-name-year shape.
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
# A 12-hour clock: "2019-09-05 下午 3:20", "05/20 7:03 am", "下午3:20".
_MERIDIEM = re.compile(
    r"^(.*?)\s*(上午|下午|晚上|凌晨|中午|am|pm|a\.m\.|p\.m\.)\s*(\d{1,2}:\d{2}(?::\d{2})?)\s*$"
    r"|^(.*?)\s*(\d{1,2}:\d{2}(?::\d{2})?)\s*(am|pm|a\.m\.|p\.m\.)$",
    re.IGNORECASE,
)
_AFTERNOON = {"下午", "晚上", "pm", "p.m."}
_SLASH_MONTH_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})$")


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


def parse_epoch(value: float | int | str) -> datetime:
    """A Unix time in seconds or milliseconds (13 digits) as aware UTC."""
    number = float(value)
    if number > 1e11:  # milliseconds: 1e11 seconds is the year 5138
        number /= 1000
    return datetime.fromtimestamp(number, UTC)


def _twelve_hour(cleaned: str) -> tuple[str, int, int, int] | None:
    """(the date part, hour, minute, second) of a 12-hour time, or None."""
    match = _MERIDIEM.match(cleaned)
    if not match:
        return None
    if match.group(2) is not None:
        date_part, meridiem, clock = match.group(1), match.group(2), match.group(3)
    else:
        date_part, clock, meridiem = match.group(4), match.group(5), match.group(6)
    pieces = [int(piece) for piece in clock.split(":")]
    hour, minute, second = pieces[0], pieces[1], pieces[2] if len(pieces) > 2 else 0
    if not 1 <= hour <= 12 and not (hour == 0 and meridiem.lower() in ("am", "a.m.", "凌晨")):
        return None
    afternoon = meridiem.lower() in _AFTERNOON or (meridiem == "中午" and hour < 11)
    hour = hour % 12 + (12 if afternoon else 0)
    return date_part.strip(), hour, minute, second


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
    if _EPOCH.match(cleaned):
        return parse_epoch(cleaned)
    if match := _YEAR_MONTH.match(cleaned):
        return datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=tz)
    if _RFC822.match(cleaned):
        return _rfc822(cleaned, tz)
    if (twelve := _twelve_hour(cleaned)) is not None:
        return _with_clock(twelve, now=now, local_now=local_now, tz=tz)
    try:
        iso = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return iso if iso.tzinfo is not None else iso.replace(tzinfo=tz)


def _rfc822(cleaned: str, tz: tzinfo) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(cleaned)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" means "zone unknown" in RFC 2822; a Chinese site's unknown zone is its own.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _with_clock(
    twelve: tuple[str, int, int, int], *, now: datetime, local_now: datetime, tz: tzinfo
) -> datetime | None:
    date_part, hour, minute, second = twelve
    clock = f"{hour:02d}:{minute:02d}:{second:02d}"
    if not date_part:
        return _parse_cleaned(clock, now=now, local_now=local_now, tz=tz)
    if match := _SLASH_MONTH_DAY.match(date_part):  # US order in English feeds: "05/20 7:03 am"
        date_part = f"{match.group(1)}-{match.group(2)}"
    combined = f"{date_part} {clock}"
    if _MERIDIEM.match(combined):  # two meridiems: nonsense, not a loop
        return None
    return _parse_cleaned(combined, now=now, local_now=local_now, tz=tz)


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
