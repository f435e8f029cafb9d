"""Discuz! X3.x pages to plain records: the board index, thread lists and thread pages.

Both URL styles are understood: `forum.php?mod=viewthread&tid=N&page=P` and the rewritten
`thread-N-P-1.html` / `forum-FID-P.html`. Times are resolved against `now`, the moment the page was
rendered, because Discuz prints recent times relative to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

from lxml.etree import _Element
from parsel import Selector, SelectorList

from crawlers.html_text import element_text, tidy_text
from crawlers.timeparse import SiteTimeError, is_approximate, parse_site_time

_TID = re.compile(r"(?:[?&]tid=|thread-)(\d+)")
_FID = re.compile(r"(?:[?&]fid=|forum-)(\d+)")
_THREAD_PAGE = re.compile(r"(?:[?&]page=|thread-\d+-)(\d+)")
_POST_ID = re.compile(r"^post_(\d+)$")
_INT = re.compile(r"\d+")
# Discuz's default floor names (setting "postno"): 楼主, 沙发, 板凳, 地板.
_FLOOR_NAMES = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}


class NotDiscuzPage(ValueError):
    """A page without the structure the parser expects (garbage, an error page, another site)."""


@dataclass(frozen=True)
class ThreadRow:
    """One thread as a board's thread list shows it."""

    tid: str
    title: str
    url: str
    sticky: bool
    author: str | None
    replies: int | None
    views: int | None
    last_post_at: datetime | None
    last_poster: str | None
    #: The last-post time was an offset (`3 小时前`) with no exact `title`: it drifts between passes.
    last_post_approximate: bool = False


@dataclass(frozen=True)
class ThreadListPage:
    threads: list[ThreadRow]
    next_url: str | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Floor:
    """One post of a thread (floor 1 is the opening post)."""

    pid: str
    floor: int
    author: str | None
    published_at: datetime
    text: str
    quote: str | None


@dataclass(frozen=True)
class ThreadPage:
    tid: str | None
    title: str | None
    page: int
    floors: list[Floor]
    next_url: str | None
    problems: list[str] = field(default_factory=list)


def thread_id_from_url(url: str) -> str | None:
    match = _TID.search(url)
    return match.group(1) if match else None


def thread_page_url(base_url: str, tid: str, page: int) -> str:
    """The canonical thread page URL (works on both URL styles: Discuz always serves this form)."""
    return urljoin(base_url, f"forum.php?mod=viewthread&tid={tid}&page={page}")


def floor_permalink(base_url: str, tid: str, pid: str) -> str:
    """Discuz's stable link to one post, independent of which page it is on."""
    return urljoin(base_url, f"forum.php?mod=redirect&goto=findpost&ptid={tid}&pid={pid}")


def page_of_floor(floor: int, per_page: int) -> int:
    return max(1, (max(floor, 1) - 1) // per_page + 1)


def _text(selector: Selector) -> str:
    return tidy_text(" ".join(selector.xpath(".//text()").getall()))


def _first_text(selectors: SelectorList[Selector]) -> str | None:
    return (_text(selectors[0]) or None) if selectors else None


def _int(text: str | None) -> int | None:
    match = _INT.search(text or "")
    return int(match.group(0)) if match else None


def _time_of(em: Selector, now: datetime) -> tuple[datetime, bool] | None:
    """A Discuz time element and whether it is approximate: the `title` of its span when present
    (exact), else its text."""
    for candidate in [*em.xpath(".//span/@title").getall(), _text(em)]:
        if not candidate.strip():
            continue
        try:
            return parse_site_time(candidate, now=now), is_approximate(candidate)
        except SiteTimeError:
            continue
    return None


def _site_message(page: Selector) -> str | None:
    message = page.css("#messagetext p::text, #messagetext::text").getall()
    joined = tidy_text(" ".join(message))
    return joined or None


def parse_board_index(page: Selector, base_url: str) -> list[str]:
    """Board (forumdisplay) URLs linked from the forum index, in page order, without duplicates."""
    hrefs = page.css("td.fl_g dt a::attr(href), div[id^=category_] dt a::attr(href)").getall()
    if not hrefs:
        hrefs = page.css("a::attr(href)").getall()
    seen: dict[str, str] = {}
    for href in hrefs:
        if "forumdisplay" not in href and not re.search(r"forum-\d+-\d+\.html", href):
            continue
        match = _FID.search(href)
        if match and match.group(1) not in seen:
            seen[match.group(1)] = urljoin(base_url, f"forum.php?mod=forumdisplay&fid={match.group(1)}")
    return list(seen.values())


def is_thread_list(page: Selector) -> bool:
    return bool(page.css("#threadlisttableid"))


def is_thread_page(page: Selector) -> bool:
    return bool(page.css("#thread_subject")) or bool(page.xpath("//div[starts-with(@id, 'post_')]"))


def parse_thread_list(page: Selector, base_url: str, now: datetime) -> ThreadListPage:
    """The threads on one page of a board's thread list (sticky first, then by last post)."""
    table = page.css("#threadlisttableid")
    if not table:
        raise NotDiscuzPage(_site_message(page) or "no thread list table (#threadlisttableid) on the page")
    threads: list[ThreadRow] = []
    problems: list[str] = []
    for body in table.xpath(".//tbody[starts-with(@id, 'stickthread_') or starts-with(@id, 'normalthread_')]"):
        body_id = body.attrib.get("id", "")
        try:
            threads.append(_thread_row(body, body_id, base_url, now))
        except NotDiscuzPage as exc:
            problems.append(f"{body_id}: {exc}")
    next_href = page.css("div.pg a.nxt::attr(href)").get()
    return ThreadListPage(threads, urljoin(base_url, next_href) if next_href else None, problems)


def _thread_row(body: Selector, body_id: str, base_url: str, now: datetime) -> ThreadRow:
    tid = body_id.split("_", 1)[1]
    link = body.css("a.xst") or body.css("th a[href*='tid=" + tid + "'], th a[href*='thread-" + tid + "-']")
    if not link:
        raise NotDiscuzPage("no thread title link (a.xst)")
    title = _text(link[0])
    by_cells = body.css("td.by")
    author = _first_text(by_cells[0].css("cite")) if by_cells else None
    last_poster = _first_text(by_cells[1].css("cite")) if len(by_cells) > 1 else None
    last_post = None
    if len(by_cells) > 1 and (em := by_cells[1].css("em")):
        last_post = _time_of(em[0], now)
    num = body.css("td.num")
    replies = _int(num.css("a::text").get()) if num else None
    views = _int(num.css("em::text").get()) if num else None
    return ThreadRow(
        tid=tid,
        title=title,
        url=thread_page_url(base_url, tid, 1),
        sticky=body_id.startswith("stickthread_"),
        author=author,
        replies=replies,
        views=views,
        last_post_at=last_post[0] if last_post else None,
        last_poster=last_poster,
        last_post_approximate=last_post[1] if last_post else False,
    )


def parse_thread_page(page: Selector, url: str, now: datetime, *, per_page: int = 10) -> ThreadPage:
    """The floors on one page of a thread, with quotes kept apart from the replies."""
    subject = page.css("#thread_subject")
    posts = [div for div in page.xpath("//div[starts-with(@id, 'post_')]") if _POST_ID.match(div.attrib["id"])]
    if not subject and not posts:
        raise NotDiscuzPage(_site_message(page) or "no thread subject and no posts (div#post_N) on the page")
    page_match = _THREAD_PAGE.search(url)
    page_no = int(page_match.group(1)) if page_match else 1
    floors: list[Floor] = []
    problems: list[str] = []
    for index, div in enumerate(posts):
        pid = _POST_ID.match(div.attrib["id"]).group(1)  # type: ignore[union-attr]
        default_floor = (page_no - 1) * per_page + index + 1
        try:
            floors.append(_floor(div, pid, default_floor, now))
        except NotDiscuzPage as exc:
            problems.append(f"post {pid}: {exc}")
    next_href = page.css("div.pg a.nxt::attr(href)").get()
    return ThreadPage(
        tid=thread_id_from_url(url),
        title=_text(subject[0]) if subject else None,
        page=page_no,
        floors=floors,
        next_url=urljoin(url, next_href) if next_href else None,
        problems=problems,
    )


def _floor_number(div: Selector, pid: str, default: int) -> int:
    label = div.css(f"#postnum{pid}")
    if label:
        number = _int(" ".join(label.css("em::text").getall()))
        if number is not None:
            return number
        text = _text(label[0])
        for name, value in _FLOOR_NAMES.items():
            if name in text:
                return value
    return default


def _floor(div: Selector, pid: str, default_floor: int, now: datetime) -> Floor:
    message = div.css(f"#postmessage_{pid}") or div.css("td.t_f")
    if not message:
        raise NotDiscuzPage("no message cell (td.t_f)")
    posted = div.xpath(".//em[starts-with(@id, 'authorposton')]")
    posted_time = _time_of(posted[0], now) if posted else None
    if posted_time is None:
        raise NotDiscuzPage("no readable post time (em#authorposton...)")
    author_link = div.css("div.authi a.xw1") or div.css("div.authi a")
    author = _text(author_link[0]) if author_link else None
    root: _Element = message[0].root
    quote_text, skip = _quote(root)
    return Floor(
        pid=pid,
        floor=_floor_number(div, pid, default_floor),
        author=author or None,
        published_at=posted_time[0],
        text=element_text(root, skip=skip),
        quote=quote_text,
    )


def _quote(message: _Element) -> tuple[str | None, frozenset[_Element]]:
    """The quoted text (without its "NAME 发表于 TIME" line) and the subtrees to leave out of the reply."""
    quotes = [el for el in message.iter("div") if "quote" in (el.get("class") or "").split()]
    if not quotes:
        return None, frozenset()
    parts = []
    for quote in quotes:
        attribution = frozenset(
            font for font in quote.iter("font") if font.get("size") == "2" and "发表于" in "".join(font.itertext())
        )
        parts.append(element_text(quote, skip=attribution))
    return "\n".join(part for part in parts if part) or None, frozenset(quotes)
