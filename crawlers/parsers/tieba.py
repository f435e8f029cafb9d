"""Baidu Tieba pages to plain records: a bar's thread list (`/f?kw=...`) and thread pages (`/p/TID`).

Tieba serves its thread list inside HTML comments (`<code class="pagelet_html"><!-- ... --></code>`,
filled in by script on the reader's screen); a saved, rendered page has it in the DOM instead. Both
are read. Each floor (`#j_p_postlist > div.l_post`) carries a JSON `data-field` with the post id and
floor number; advertisements are `l_post` blocks without one and are skipped. In-floor replies
(楼中楼, `li.lzl_single_post`) are read where the page includes them.

Names: the display name a reader sees (`.d_name a`, the list's author title) is the author; the
account ids in `data-field` are not kept (no profiling of authors).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import _Element
from parsel import Selector

from crawlers.html_text import element_text, tidy_text
from crawlers.timeparse import SiteTimeError, is_approximate, parse_site_time

_TID_IN_PATH = re.compile(r"/p/(\d+)")
_PAGE_PARAM = re.compile(r"[?&]pn=(\d+)")
_FLOOR_LABEL = re.compile(r"^(\d+)楼$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_TOTAL_PAGES = re.compile(r"共\s*(\d+)\s*页")
_INT = re.compile(r"\d+")
_AUTHOR_PREFIX = re.compile(r"^(主题作者|最后回复人)\s*[:：]\s*")
# "回复 NAME :" opens an in-floor reply addressed to someone: who it answers, not what it says.
_REPLY_TO = re.compile(r"^回复\s*(.+?)\s*[:：]\s*")


class NotTiebaPage(ValueError):
    """A page without the structure the parser expects (an error page, a login wall, another site)."""


@dataclass(frozen=True)
class TiebaThreadRow:
    tid: str
    title: str
    url: str
    sticky: bool
    author: str | None
    replies: int | None
    last_reply_at: datetime | None
    #: The list shows a clock time or month-day, not an exact timestamp: it compares only roughly.
    last_reply_approximate: bool = True


@dataclass(frozen=True)
class TiebaListPage:
    forum: str | None
    threads: list[TiebaThreadRow]
    next_url: str | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InFloorReply:
    """A 楼中楼 reply under a floor."""

    spid: str
    author: str | None
    published_at: datetime | None
    text: str
    reply_to: str | None


@dataclass(frozen=True)
class TiebaFloor:
    pid: str
    floor: int
    author: str | None
    published_at: datetime
    text: str
    comment_count: int
    replies: list[InFloorReply] = field(default_factory=list)


@dataclass(frozen=True)
class TiebaThreadPage:
    tid: str | None
    title: str | None
    forum: str | None
    page: int
    total_pages: int | None
    reply_count: int | None
    floors: list[TiebaFloor]
    next_url: str | None
    problems: list[str] = field(default_factory=list)


def thread_page_url(base_url: str, tid: str, page: int = 1) -> str:
    return urljoin(base_url, f"/p/{tid}" + (f"?pn={page}" if page > 1 else ""))


def thread_id_from_url(url: str) -> str | None:
    match = _TID_IN_PATH.search(urlsplit(url).path)
    return match.group(1) if match else None


def is_thread_url(url: str) -> bool:
    return thread_id_from_url(url) is not None


def _data_field(raw: str | None) -> dict[str, Any]:
    """Tieba's `data-field` JSON; in-floor replies write it with single quotes."""
    if not raw:
        return {}
    for candidate in (raw, raw.replace("'", '"')):
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        return value if isinstance(value, dict) else {}
    return {}


def _text(selector: Selector) -> str:
    return tidy_text(" ".join(selector.xpath(".//text()").getall()))


def _int(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    match = _INT.search(str(value or ""))
    return int(match.group(0)) if match else None


def _with_hidden_pagelets(page: Selector) -> Selector:
    """The page plus the HTML Tieba hides in `<code class="pagelet_html"><!-- ... --></code>`."""
    hidden = page.xpath("//code[contains(@class, 'pagelet_html')]/comment()").getall()
    if not hidden:
        return page
    inner = "".join(comment[4:-3] for comment in hidden)
    return Selector(text=f"<html><body>{page.get()}<div id='patrol-pagelets'>{inner}</div></body></html>")


def is_thread_list(page: Selector) -> bool:
    return bool(_with_hidden_pagelets(page).css("li.j_thread_list"))


def parse_thread_list(page: Selector, base_url: str, now: datetime) -> TiebaListPage:
    """The threads on one page of a bar's list (top threads first, then by last reply)."""
    full = _with_hidden_pagelets(page)
    items = full.css("li.j_thread_list")
    if not items:
        raise NotTiebaPage("no thread list items (li.j_thread_list) on the page")
    threads: list[TiebaThreadRow] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            row = _thread_row(item, base_url, now)
        except NotTiebaPage as exc:
            problems.append(f"item {index}: {exc}")
            continue
        if row.tid not in seen:  # the rendered DOM and the hidden pagelet may both hold a row
            seen.add(row.tid)
            threads.append(row)
    next_href = full.css("#frs_list_pager a.next::attr(href), a.next.pagination-item::attr(href)").get()
    forum = full.css("a.card_title_fname::text").get()
    return TiebaListPage(
        forum=forum.strip() if forum else None,
        threads=threads,
        next_url=urljoin(base_url, next_href) if next_href else None,
        problems=problems,
    )


def _thread_row(item: Selector, base_url: str, now: datetime) -> TiebaThreadRow:
    data = _data_field(item.attrib.get("data-field"))
    link = item.css("a.j_th_tit")
    href = link.attrib.get("href", "") if link else ""
    tid = str(data.get("id") or item.attrib.get("data-tid") or thread_id_from_url(href) or "")
    if not tid.isdigit():
        raise NotTiebaPage("no thread id (data-field id or /p/TID link)")
    title = (link.attrib.get("title") or _text(link[0])) if link else ""
    if not title:
        raise NotTiebaPage(f"thread {tid} has no title link (a.j_th_tit)")
    author_title = item.css(".tb_icon_author::attr(title)").get()
    author = _AUTHOR_PREFIX.sub("", author_title).strip() if author_title else None
    if not author:
        author = (item.css(".frs-author-name::text").get() or "").strip() or None
    replies = _int(data.get("reply_num"))
    if replies is None:
        replies = _int(item.css(".threadlist_rep_num::text").get())
    classes = set((item.attrib.get("class") or "").split())
    sticky = bool(data.get("is_top") or data.get("is_membertop")) or "thread_top" in classes
    last_reply = None
    approximate = True
    stamp = (item.css(".threadlist_reply_date::text").get() or "").strip()
    if stamp:
        try:
            last_reply = parse_site_time(stamp, now=now)
            approximate = is_approximate(stamp) or not _DATE_LIKE.match(stamp)
        except SiteTimeError:
            last_reply = None
    return TiebaThreadRow(
        tid=tid,
        title=tidy_text(title),
        url=thread_page_url(base_url, tid),
        sticky=sticky,
        author=author,
        replies=replies,
        last_reply_at=last_reply,
        last_reply_approximate=approximate,
    )


def is_thread_page(page: Selector) -> bool:
    return bool(page.css("#j_p_postlist"))


def parse_thread_page(page: Selector, url: str, now: datetime) -> TiebaThreadPage:
    """The floors on one page of a thread, each with the in-floor replies the page shows."""
    postlist = page.css("#j_p_postlist")
    if not postlist:
        raise NotTiebaPage("no post list (#j_p_postlist) on the page")
    floors: list[TiebaFloor] = []
    problems: list[str] = []
    for index, block in enumerate(postlist.xpath("./div[contains(concat(' ', @class, ' '), ' l_post ')]")):
        data = _data_field(block.attrib.get("data-field"))
        content = data.get("content") if isinstance(data.get("content"), dict) else None
        if not content or not content.get("post_id"):
            continue  # an advertisement slot, not a post
        try:
            floors.append(_floor(block, content, now))
        except NotTiebaPage as exc:
            problems.append(f"post {content.get('post_id') or index}: {exc}")
    title = page.css(".core_title_txt::attr(title)").get() or _first(page, ".core_title_txt")
    reply_text = " ".join(page.css(".l_reply_num").xpath("string()").getall())
    total = _TOTAL_PAGES.search(reply_text)
    reply_count = _int(page.css(".l_reply_num span.red::text").get())
    next_href = None
    for anchor in page.css("li.l_pager a, .pb_list_pager a"):
        if _text(anchor) == "下一页":
            next_href = anchor.attrib.get("href")
            break
    page_match = _PAGE_PARAM.search(url)
    forum = page.css("a.card_title_fname::text").get()
    return TiebaThreadPage(
        tid=thread_id_from_url(url),
        title=tidy_text(title) if title else None,
        forum=forum.strip() if forum else None,
        page=int(page_match.group(1)) if page_match else 1,
        total_pages=int(total.group(1)) if total else None,
        reply_count=reply_count,
        floors=floors,
        next_url=urljoin(url, next_href) if next_href else None,
        problems=problems,
    )


def _first(page: Selector, css: str) -> str | None:
    found = page.css(css)
    return _text(found[0]) or None if found else None


def _floor(block: Selector, content: dict[str, Any], now: datetime) -> TiebaFloor:
    pid = str(content["post_id"])
    tails = [_text(tail) for tail in block.css(".post-tail-wrap .tail-info, .core_reply_tail .tail-info")]
    floor_no = _int(content.get("post_no"))
    if floor_no is None:
        floor_no = next((int(m.group(1)) for t in tails if (m := _FLOOR_LABEL.match(t))), None)
    if floor_no is None:
        raise NotTiebaPage("no floor number (data-field post_no or 'N楼')")
    published = None
    for candidate in [*reversed(tails), str(content.get("date") or "")]:
        if _DATE_LIKE.match(candidate.strip()):
            try:
                published = parse_site_time(candidate, now=now)
                break
            except SiteTimeError:
                continue
    if published is None:
        raise NotTiebaPage("no readable post time in the floor's tail")
    message = block.css(".d_post_content")
    if not message:
        raise NotTiebaPage("no message (.d_post_content)")
    author = _first(block, ".d_name a.p_author_name") or _first(block, ".d_name a")
    return TiebaFloor(
        pid=pid,
        floor=floor_no,
        author=author,
        published_at=published,
        text=element_text(message[0].root),
        comment_count=_int(content.get("comment_num")) or 0,
        replies=_in_floor_replies(block, now),
    )


def _in_floor_replies(block: Selector, now: datetime) -> list[InFloorReply]:
    replies: list[InFloorReply] = []
    for item in block.css("li.lzl_single_post"):
        data = _data_field(item.attrib.get("data-field"))
        spid = str(data.get("spid") or "")
        main = item.css(".lzl_content_main")
        if not spid.isdigit() or not main:
            continue
        root: _Element = main[0].root
        text = element_text(root)
        reply_to = None
        if match := _REPLY_TO.match(text):
            reply_to, text = match.group(1), text[match.end() :]
        stamp = (item.css(".lzl_time::text").get() or "").strip()
        try:
            published = parse_site_time(stamp, now=now) if stamp else None
        except SiteTimeError:
            published = None
        author = data.get("showname") or _first(item, "a.at.j_user_card") or data.get("user_name")
        replies.append(
            InFloorReply(
                spid=spid,
                author=str(author).strip() if author else None,
                published_at=published,
                text=text,
                reply_to=reply_to,
            )
        )
    return replies
