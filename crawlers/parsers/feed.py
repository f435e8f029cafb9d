"""RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom documents to plain records, in any declared encoding.

feedparser reads every dialect, but decodes by the XML declaration alone and reads zone-less dates
as UTC. So the bytes are decoded first by `crawlers.encoding` (GB declarations as GB18030, Big5 as
CP950, a lying declaration caught), the declaration is rewritten to say UTF-8, and each entry's
date is read from its raw string by `crawlers.timeparse` (zone-less means Asia/Shanghai), with
feedparser's parse as the fallback. An entry without a date takes the feed's own date, else the
moment the document was served, and says so (`dated_by`).
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from crawlers.html_text import fragment_text, tidy_text
from crawlers.timeparse import SiteTimeError, parse_site_time

_XML_DECLARATION_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']+""")
_ENTRY_DATE_KEYS = ("published", "updated", "created", "issued", "date")
_FEED_DATE_KEYS = ("updated", "published", "date", "modified", "lastbuilddate")


class NotAFeed(ValueError):
    """A document that is neither RSS, RDF nor Atom (an HTML error page, garbage)."""


@dataclass(frozen=True)
class FeedEntry:
    key: str
    link: str | None
    title: str | None
    author: str | None
    text: str
    published_at: datetime
    #: "entry" (its own date), "feed" (the feed's date) or "served" (when the document was served).
    dated_by: str


@dataclass(frozen=True)
class FeedDocument:
    version: str
    title: str | None
    link: str | None
    entries: list[FeedEntry]
    problems: list[str] = field(default_factory=list)


def entry_key(raw: Any) -> str:
    """A stable key for an entry: its id, else its link, else a hash of its title and text."""
    for name in ("id", "link"):
        value = raw.get(name)
        if value:
            return str(value)
    digest = hashlib.sha1(f"{raw.get('title', '')}\n{raw.get('summary', '')}".encode()).hexdigest()
    return f"sha1:{digest}"


def native_id_of(key: str) -> str:
    """The post's native id: entry keys are long URLs, so a short hash of them."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def _struct_to_utc(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _when(raw: Any, keys: tuple[str, ...], *, now: datetime) -> datetime | None:
    for key in keys:
        text = raw.get(key)
        if isinstance(text, str) and text.strip():
            try:
                return parse_site_time(text, now=now)
            except SiteTimeError:
                pass
        parsed = _struct_to_utc(raw.get(f"{key}_parsed"))
        if parsed is not None:
            return parsed
    return None


def _entry_text(raw: Any) -> str:
    contents = raw.get("content") or []
    for content in contents:
        value = content.get("value") if isinstance(content, dict) else None
        if value:
            return fragment_text(value) if "html" in str(content.get("type", "html")) else tidy_text(value)
    summary = raw.get("summary") or raw.get("description") or ""
    return fragment_text(summary) if summary else ""


def parse_feed(text: str, *, now: datetime) -> FeedDocument:
    """Entries of a feed already decoded to text; `now` is when it was served."""
    utf8 = _XML_DECLARATION_ENCODING.sub(r"\1utf-8", text, count=1)
    parsed = feedparser.parse(utf8.encode("utf-8"), response_headers={"content-type": "application/xml; charset=utf-8"})
    if not parsed.get("version"):
        reason = parsed.get("bozo_exception")
        raise NotAFeed(f"not RSS, RDF or Atom{f' ({reason})' if reason else ''}")
    problems = []
    if parsed.get("bozo"):
        # Most real feeds have a stray control character or entity; feedparser reads them anyway.
        problems.append(f"malformed XML read leniently: {parsed.get('bozo_exception')}")
    feed = parsed.get("feed", {})
    feed_date = _when(feed, _FEED_DATE_KEYS, now=now)
    entries = []
    for raw in parsed.get("entries", []):
        published = _when(raw, _ENTRY_DATE_KEYS, now=now)
        dated_by = "entry"
        if published is None:
            published, dated_by = (feed_date, "feed") if feed_date is not None else (now.astimezone(UTC), "served")
        # A title is one line, whatever line breaks the feed put in it.
        title = " ".join(tidy_text(fragment_text(raw.get("title", ""))).split("\n")).strip() or None
        entries.append(
            FeedEntry(
                key=entry_key(raw),
                link=raw.get("link") or None,
                title=title,
                author=(raw.get("author") or "").strip() or None,
                text=_entry_text(raw) or (title or ""),
                published_at=published,
                dated_by=dated_by,
            )
        )
    return FeedDocument(
        version=str(parsed.get("version")),
        title=tidy_text(feed.get("title", "")) or None,
        link=feed.get("link") or None,
        entries=entries,
        problems=problems,
    )
