"""The site clock and the ways Discuz! and m.weibo.cn write times.

Both sites show local (Asia/Shanghai) times, and recent ones only relative to the moment the page
is served, so every renderer takes the site clock's `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# China has had no daylight saving since 1991, so a fixed offset is exact and needs no tz database.
SITE_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

#: The default site clock: fixed, so the same seed serves the same bytes in every test run.
DEFAULT_NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SITE_TZ)


def require_aware(value: datetime, what: str = "time") -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} {value!r} is naive: pass a timezone-aware datetime (e.g. tzinfo=UTC)")
    return value


def local(value: datetime) -> datetime:
    return value.astimezone(SITE_TZ)


def discuz_absolute(value: datetime) -> str:
    """`2026-11-27 21:05`, as Discuz writes post times."""
    return local(value).strftime("%Y-%m-%d %H:%M")


def discuz_date(value: datetime) -> str:
    return local(value).strftime("%Y-%m-%d")


def discuz_relative(value: datetime, now: datetime) -> str | None:
    """Discuz's relative wording for a post less than a day old, or None for older posts."""
    delta = now - value
    if delta < timedelta(0) or delta >= timedelta(days=1):
        return None
    seconds = int(delta.total_seconds())
    when, today = local(value), local(now)
    if seconds < 60:
        return "刚刚"
    if seconds < 30 * 60:
        return f"{seconds // 60} 分钟前"
    if seconds < 60 * 60:
        return "半小时前"
    if when.date() == today.date():
        return f"{seconds // 3600} 小时前"
    return f"昨天 {when:%H:%M}"


def weibo_created_at(value: datetime, now: datetime) -> str:
    """m.weibo.cn's `created_at`: 刚刚, 5分钟前, 3小时前, 昨天 21:05, 11-27, 2025-11-27."""
    delta = now - value
    seconds = int(delta.total_seconds())
    when, today = local(value), local(now)
    if 0 <= seconds < 60:
        return "刚刚"
    if 0 <= seconds < 3600:
        return f"{seconds // 60}分钟前"
    if 0 <= seconds < 86400 and when.date() == today.date():
        return f"{seconds // 3600}小时前"
    if when.date() == today.date() - timedelta(days=1):
        return f"昨天 {when:%H:%M}"
    if when.year == today.year:
        return f"{when:%m-%d}"
    return f"{when:%Y-%m-%d}"
