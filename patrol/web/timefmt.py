"""Times as people read them: Asia/Shanghai wall time, and how long until (or since) a deadline."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return "—"
    return moment.astimezone(DISPLAY_ZONE).strftime(fmt)


def duration_text(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def countdown(due: datetime | None, now: datetime) -> str:
    """'12m 05s left' or 'overdue 3m 10s' (the page's script keeps it ticking)."""
    if due is None:
        return ""
    delta = due - now
    return f"{duration_text(delta)} left" if delta.total_seconds() >= 0 else f"overdue {duration_text(delta)}"


def sla_state(due: datetime | None, now: datetime, *, warn: timedelta = timedelta(minutes=5)) -> str:
    """ok | soon | breached | none: a CSS class and a word for the board."""
    if due is None:
        return "none"
    if due <= now:
        return "breached"
    if due - now <= warn:
        return "soon"
    return "ok"
