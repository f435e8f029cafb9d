"""m.weibo.cn-style JSON to plain records: container card lists, long texts and comments."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawlers.html_text import fragment_text
from crawlers.timeparse import SiteTimeError, parse_site_time

# A truncated long weibo ends with "...<a href="/status/MID">全文</a>": a link, not the author's words.
_FULL_TEXT_LINK = re.compile(r"(?:\.\.\.|…)?\s*<a[^>]*>\s*全文\s*</a>\s*$")


class WeiboFormatError(ValueError):
    """A response that is not the JSON shape the API promises (empty, invalid, wrong fields)."""


class EmptyDocument(WeiboFormatError):
    """An empty body, invalid JSON, or a JSON document with nothing in it (`{}`, `[]`, `null`)."""


@dataclass(frozen=True)
class Mblog:
    """One weibo as the card list shows it."""

    mid: int
    published_at: datetime
    text: str
    is_long_text: bool
    author: str | None
    author_id: str | None
    reposts_count: int
    comments_count: int
    attitudes_count: int
    pinned: bool
    retweeted: Mblog | None = None


@dataclass(frozen=True)
class CardPage:
    container_id: str | None
    mblogs: list[Mblog]
    since_id: str | None
    exhausted: bool
    problems: list[str] = field(default_factory=list)
    #: Older APIs page by number (`cardlistInfo.page` is the next page) instead of a since_id cursor.
    next_page: int | None = None


@dataclass(frozen=True)
class Comment:
    comment_id: int
    published_at: datetime
    text: str
    author: str | None
    reply_text: str | None


@dataclass(frozen=True)
class CommentPage:
    comments: list[Comment]
    max_page: int
    total: int | None
    problems: list[str] = field(default_factory=list)


def load_json(text: str) -> Any:
    """The decoded JSON document, or `WeiboFormatError` for an empty or invalid body."""
    if not text.strip():
        raise EmptyDocument("empty response body where JSON was expected")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EmptyDocument(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if not document:
        raise EmptyDocument(f"empty JSON document {text.strip()[:20]!r}")
    return document


def _as_int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(万|亿)?\+?\s*$")


def _count(value: Any) -> int:
    """A count as the API shows it: 95535, "95535", or rounded for display ("100万+", "1.2亿")."""
    if isinstance(value, int):
        return value
    match = _COUNT.match(str(value or ""))
    if not match:
        return 0
    scale = {"万": 10_000, "亿": 100_000_000}.get(match.group(2) or "", 1)
    return int(float(match.group(1)) * scale)


def _user(raw: Any) -> tuple[str | None, str | None]:
    if not isinstance(raw, dict):
        return None, None
    name = raw.get("screen_name")
    uid = raw.get("id")
    return (str(name) if name else None, str(uid) if uid is not None else None)


def _pinned(mblog: dict[str, Any]) -> bool:
    title = mblog.get("title")
    return _as_int(mblog.get("isTop")) == 1 or (isinstance(title, dict) and title.get("text") == "置顶")


def weibo_text(html: str) -> str:
    """Readable text of a weibo's HTML: `<br>` as newlines, emoticons as their `[alt]`, no 全文 link."""
    return fragment_text(_FULL_TEXT_LINK.sub("", html or ""))


def parse_mblog(raw: Any, now: datetime) -> Mblog:
    if not isinstance(raw, dict):
        raise WeiboFormatError("mblog is not an object")
    mid = _as_int(raw.get("mid") or raw.get("id") or raw.get("idstr"), default=-1)
    if mid < 0:
        raise WeiboFormatError("mblog without an id")
    try:
        published_at = parse_site_time(str(raw.get("created_at", "")), now=now)
    except SiteTimeError as exc:
        raise WeiboFormatError(f"mblog {mid}: {exc}") from exc
    author, author_id = _user(raw.get("user"))
    retweeted_raw = raw.get("retweeted_status")
    return Mblog(
        mid=mid,
        published_at=published_at,
        text=weibo_text(str(raw.get("text") or "")),
        is_long_text=bool(raw.get("isLongText")),
        author=author,
        author_id=author_id,
        reposts_count=_count(raw.get("reposts_count")),
        comments_count=_count(raw.get("comments_count")),
        attitudes_count=_count(raw.get("attitudes_count")),
        pinned=_pinned(raw),
        retweeted=parse_mblog(retweeted_raw, now) if isinstance(retweeted_raw, dict) else None,
    )


def parse_cards(document: Any, now: datetime) -> CardPage:
    """A container's card list; `exhausted` when the API says there is nothing (more)."""
    if not isinstance(document, dict):
        raise WeiboFormatError("card list response is not a JSON object")
    data = document.get("data")
    cards = data.get("cards") if isinstance(data, dict) else None
    if _as_int(document.get("ok")) != 1:
        if cards in (None, []):
            return CardPage(container_id=None, mblogs=[], since_id=None, exhausted=True)
        raise WeiboFormatError(f"API answered ok={document.get('ok')!r}: {document.get('msg', '')}")
    if not isinstance(data, dict) or not isinstance(cards, list):
        raise WeiboFormatError("card list response has no data.cards list")
    raw_info = data.get("cardlistInfo")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    mblogs: list[Mblog] = []
    problems: list[str] = []
    for index, card in enumerate(cards):
        # card_type 9 is a weibo; others (11: a group of cards, 58: a notice) are layout.
        for mblog_raw in _card_mblogs(card):
            try:
                mblogs.append(parse_mblog(mblog_raw, now))
            except WeiboFormatError as exc:
                problems.append(f"card {index}: {exc}")
    since = info.get("since_id")
    next_page = _as_int(info.get("page"), default=0)
    return CardPage(
        container_id=str(info["containerid"]) if info.get("containerid") else None,
        mblogs=mblogs,
        since_id=str(since) if since not in (None, "", 0) else None,
        exhausted=not cards,
        problems=problems,
        next_page=next_page if next_page > 1 else None,
    )


def _card_mblogs(card: Any) -> list[Any]:
    if not isinstance(card, dict):
        return []
    if _as_int(card.get("card_type")) == 9 and isinstance(card.get("mblog"), dict):
        return [card["mblog"]]
    group = card.get("card_group")
    if isinstance(group, list):
        return [sub["mblog"] for sub in group if isinstance(sub, dict) and isinstance(sub.get("mblog"), dict)]
    return []


def parse_long_text(document: Any) -> str:
    """The full text of a long weibo from `/api/statuses/extend`."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("longTextContent"), str):
        raise WeiboFormatError("long text response has no data.longTextContent")
    return weibo_text(data["longTextContent"])


def parse_comments(document: Any, now: datetime) -> CommentPage:
    """One page of a weibo's comments (newest first)."""
    if not isinstance(document, dict):
        raise WeiboFormatError("comments response is not a JSON object")
    data = document.get("data")
    if _as_int(document.get("ok")) != 1 or not isinstance(data, dict):
        return CommentPage(comments=[], max_page=0, total=None)
    rows = data.get("data")
    if not isinstance(rows, list):
        raise WeiboFormatError("comments response has no data.data list")
    comments: list[Comment] = []
    problems: list[str] = []
    for index, row in enumerate(rows):
        try:
            comments.append(_comment(row, now))
        except WeiboFormatError as exc:
            problems.append(f"comment {index}: {exc}")
    total = data.get("total_number")
    return CommentPage(
        comments=comments,
        max_page=_as_int(data.get("max"), default=1),
        total=_as_int(total) if total is not None else None,
        problems=problems,
    )


def _comment(row: Any, now: datetime) -> Comment:
    if not isinstance(row, dict) or _as_int(row.get("id"), -1) < 0:
        raise WeiboFormatError("comment without an id")
    try:
        published_at = parse_site_time(str(row.get("created_at", "")), now=now)
    except SiteTimeError as exc:
        raise WeiboFormatError(str(exc)) from exc
    author, _ = _user(row.get("user"))
    reply = row.get("reply_text")
    return Comment(
        comment_id=_as_int(row["id"]),
        published_at=published_at,
        text=weibo_text(str(row.get("text") or "")),
        author=author,
        reply_text=weibo_text(str(reply)) if reply else None,
    )
