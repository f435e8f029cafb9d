"""Crawler traps: pagination that never ends or loops, and calendars that link to every day there is.

A pass must end on its own even when a site misbehaves, and must not spend its page budget on one
bad corner of a site while the rest goes unread. `TrapGuard` is asked before a spider follows a
link and says no, with a reason the crawl report records as kind `trap`, when:

- **pagination loop**: a "next page" link points back at a page this chain already fetched, or a
  next page shows exactly the items of the page before it (a site ignoring its `page` parameter);
- **endless pagination**: a chain of "next page" links deeper than `PATROL_MAX_PAGINATION` pages;
- **calendar trap**: a URL whose date (`2026-11-28`, `2026/11/28`, `20261128`, `year=..&month=..`)
  lies in the future or further back than `PATROL_CALENDAR_HORIZON_DAYS`, or the
  `PATROL_CALENDAR_MAX_DATES`+1-th distinct date of one URL that differs only in its date (a "next
  day" link followed day after day; dated article URLs differ in their ids too and are not counted
  together).

It holds no Scrapy objects, so it is tested as plain code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.timeparse import SITE_TZ

_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/_.](0?[1-9]|1[0-2])[-/_.](0?[1-9]|[12]\d|3[01])(?!\d)")
# 8-digit dates only as a whole path segment or a date-named parameter: an id like tid=20150315 is not one.
_COMPACT_PATH_DATE = re.compile(r"(?<=/)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=/|$)")
_COMPACT_QUERY_DATE = re.compile(
    r"(?:^|&)(?:date|day|dt|d|riqi|rq)=((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=&|$)", re.IGNORECASE
)
_YEAR_KEYS = ("year", "y", "yy", "yyyy")
_MONTH_KEYS = ("month", "m", "mm", "mon")
_DAY_KEYS = ("day", "d", "dd")


class TrapDetected(Exception):
    """A link the guard refuses to follow; the message says which trap and why."""


def canonical_url(url: str) -> str:
    """The URL without its fragment, with its query sorted: two spellings of one page compare equal."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def _dated(url: str) -> tuple[date, str] | None:
    """The calendar date a URL names in its path or query, and the URL with that date taken out."""
    parts = urlsplit(canonical_url(url))
    searches = (
        (_ISO_DATE, "path"),
        (_ISO_DATE, "query"),
        (_COMPACT_PATH_DATE, "path"),
        (_COMPACT_QUERY_DATE, "query"),
    )
    for pattern, field_name in searches:
        text = getattr(parts, field_name)
        for match in pattern.finditer(text):
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
            start, end = match.start(1), match.end(3)
            without = text[:start] + "{date}" + text[end:]
            rest = parts._replace(path=without) if field_name == "path" else parts._replace(query=without)
            return day, urlunsplit(rest)
    query = dict(parse_qsl(parts.query))
    lowered = {key.lower(): key for key in query}
    keys = [lowered[k] for k in (*_YEAR_KEYS, *_MONTH_KEYS, *_DAY_KEYS) if k in lowered]
    year = next((query[lowered[k]] for k in _YEAR_KEYS if k in lowered), None)
    month = next((query[lowered[k]] for k in _MONTH_KEYS if k in lowered), None)
    if year and month and year.isdigit() and month.isdigit():
        day_text = next((query[lowered[k]] for k in _DAY_KEYS if k in lowered and query[lowered[k]].isdigit()), "1")
        try:
            day = date(int(year), int(month), int(day_text))
        except ValueError:
            return None
        others = urlencode(sorted((k, v) for k, v in query.items() if k not in keys))
        return day, urlunsplit(parts._replace(query=others + "&{date}"))
    return None


def url_date(url: str) -> date | None:
    """The calendar date a URL names in its path or query, if any."""
    dated = _dated(url)
    return dated[0] if dated else None


def url_shape(url: str) -> str:
    """The URL with its date taken out: the pages of one calendar share it, dated articles do not
    (their ids differ)."""
    dated = _dated(url)
    return dated[1] if dated else canonical_url(url)


@dataclass
class PaginationChain:
    """One run of "next page" links (one board's list, one thread's pages)."""

    urls: set[str] = field(default_factory=set)
    depth: int = 0
    last_items: tuple[str, ...] | None = None


@dataclass
class TrapGuard:
    max_pagination: int = 500
    calendar_horizon_days: int = 3650
    calendar_max_dates: int = 60
    chains: dict[str, PaginationChain] = field(default_factory=dict)
    _dates_by_shape: dict[str, set[date]] = field(default_factory=lambda: defaultdict(set))

    def check_link(self, url: str, *, now: datetime) -> None:
        """Raise `TrapDetected` if `url` is a calendar page out of range, or one date too many."""
        day = url_date(url)
        if day is None:
            return
        today = now.astimezone(SITE_TZ).date()
        if day > today + timedelta(days=1):
            raise TrapDetected(f"calendar trap: {url} is dated {day}, in the future; not followed")
        if day < today - timedelta(days=self.calendar_horizon_days):
            raise TrapDetected(
                f"calendar trap: {url} is dated {day}, more than {self.calendar_horizon_days} days back; not followed"
            )
        shape = url_shape(url)
        dates = self._dates_by_shape[shape]
        if day not in dates and len(dates) >= self.calendar_max_dates:
            raise TrapDetected(
                f"calendar trap: more than {self.calendar_max_dates} dates of {shape} this pass; {url} not followed"
            )
        dates.add(day)

    def start_chain(self, chain: str, first_url: str) -> None:
        """Begin a pagination chain at its first page (a no-op when it has begun)."""
        state = self.chains.setdefault(chain, PaginationChain())
        state.urls.add(canonical_url(first_url))

    def check_next(self, chain: str, next_url: str) -> None:
        """Raise `TrapDetected` if following `next_url` would loop or go deeper than allowed."""
        state = self.chains.setdefault(chain, PaginationChain())
        key = canonical_url(next_url)
        if key in state.urls:
            raise TrapDetected(f"pagination loop: the next page {next_url} was already fetched in this chain")
        if state.depth + 1 >= self.max_pagination:
            raise TrapDetected(
                f"endless pagination: more than {self.max_pagination} pages in one chain; stopped before {next_url}"
            )
        state.urls.add(key)
        state.depth += 1

    def end_chain(self, chain: str) -> None:
        """Forget a finished chain (a thread read to its last page): memory stays flat on big forums."""
        self.chains.pop(chain, None)

    def check_items(self, chain: str, items: tuple[str, ...], url: str) -> None:
        """Raise `TrapDetected` if this page of the chain repeats the previous page's items."""
        state = self.chains.setdefault(chain, PaginationChain())
        repeated = bool(items) and items == state.last_items
        state.last_items = items
        if repeated:
            raise TrapDetected(f"pagination loop: {url} shows the same {len(items)} items as the page before it")
