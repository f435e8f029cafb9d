"""Baidu Tieba bars: thread list (`/f?kw=BAR`) -> thread pages (`/p/TID?pn=P`), incrementally.

A start URL is a bar's list or one thread (a hot thread about a local incident is worth following
on its own). Lists are ordered by last reply (top threads first), so a bar is paged only while its
list pages show new or changed threads. A thread is changed when its reply count differs from the
state; it is fetched from the last page read before (Tieba floor numbers have gaps where posts
were deleted, so the page of a floor cannot be computed), and only floors above the known ones are
landed. In-floor replies (楼中楼) shown on a page are landed as comments of their floor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parsel import Selector
from scrapy.http import Response

from crawlers.parsers.tieba import (
    InFloorReply,
    NotTiebaPage,
    TiebaFloor,
    TiebaThreadRow,
    is_thread_list,
    is_thread_page,
    parse_thread_list,
    parse_thread_page,
    thread_id_from_url,
    thread_page_url,
)
from crawlers.spiders.base import ITEM_NEXT_PRIORITY, ITEM_PRIORITY, PatrolSpider
from crawlers.state import StateUpdate, ThreadState
from patrol.schema import Post, make_post_id, utcnow

#: Floors Tieba shows per thread page.
FLOORS_PER_PAGE = 30


@dataclass
class TiebaThreadTask:
    tid: str
    title: str | None
    replies: int | None
    known_floors: int
    #: Newest floor or in-floor reply time landed before: older in-floor replies are not new.
    since: datetime | None
    max_floor: int = 0
    last_page: int = 1
    newest: datetime | None = None


class TiebaSpider(PatrolSpider):
    name = "tieba"

    async def start(self) -> Any:
        for request in self.start_pages(self.parse_entry):
            yield request

    def parse_entry(self, response: Response) -> Iterator[Any]:
        """A start URL: a bar's thread list, or one thread."""
        selector = self.html_selector(response)
        if selector is None:
            return
        if is_thread_page(selector) and thread_id_from_url(response.url):
            tid = thread_id_from_url(response.url) or ""
            old = self.snapshot.threads.get(tid)
            task = self._task(tid, None, None, old)
            if old is not None and old.last_page > 1:
                # A followed thread: read its first page's count, then go to where we stopped.
                yield from self._resume(response, selector, task)
                return
            yield from self._thread_page(response, selector, task)
            return
        if is_thread_list(selector):
            yield from self._thread_list(response, selector)
            return
        self.report("bad_html", response.url, "neither a Tieba thread list (li.j_thread_list) nor a thread page")

    def _resume(self, response: Response, selector: Selector, task: TiebaThreadTask) -> Iterator[Any]:
        try:
            page = parse_thread_page(selector, response.url, self.rendered_at(response))
        except NotTiebaPage as exc:
            self.report("bad_html", response.url, f"not a Tieba thread page: {exc}")
            return
        self.parsed()
        old = self.snapshot.threads[task.tid]
        if page.reply_count is not None and page.reply_count == old.replies:
            return
        task.replies = page.reply_count
        request = self.page_request(
            thread_page_url(response.url, task.tid, old.last_page), self.parse_thread, cb_kwargs={"task": task}
        )
        if request is not None:
            yield request

    # --- lists ----------------------------------------------------------------------------------
    def parse_thread_list(self, response: Response) -> Iterator[Any]:
        selector = self.html_selector(response)
        if selector is not None:
            yield from self._thread_list(response, selector)

    def _thread_list(self, response: Response, selector: Selector) -> Iterator[Any]:
        try:
            listing = parse_thread_list(selector, response.url, self.rendered_at(response))
        except NotTiebaPage as exc:
            self.report("bad_html", response.url, f"not a Tieba thread list: {exc}")
            return
        self.parsed()
        for problem in listing.problems:
            self.report("parse", response.url, problem)
        chain = f"list:{response.meta.get('chain') or response.url}"
        if self.repeats_previous_page(chain, tuple(row.tid for row in listing.threads), response.url):
            return
        rows = listing.threads[:-1] if response.meta.get("cut") else listing.threads
        fresh_normal = 0
        for row in rows:
            task = self._plan(row)
            if task is None:
                continue
            fresh_normal += 0 if row.sticky else 1
            start_page = self.snapshot.threads[row.tid].last_page if row.tid in self.snapshot.threads else 1
            request = self.page_request(
                thread_page_url(response.url, row.tid, start_page),
                self.parse_thread,
                cb_kwargs={"task": task},
                priority=ITEM_PRIORITY,
            )
            if request is not None:
                yield request
        self.event("thread_list", url=response.url, threads=len(listing.threads), fresh=fresh_normal)
        if listing.next_url and fresh_normal:
            request = self.next_page_request(chain, response.url, listing.next_url, self.parse_thread_list)
            if request is not None:
                request.meta["chain"] = chain.removeprefix("list:")
                yield request

    def _task(self, tid: str, title: str | None, replies: int | None, old: ThreadState | None) -> TiebaThreadTask:
        return TiebaThreadTask(
            tid=tid,
            title=title,
            replies=replies,
            known_floors=old.floors if old else 0,
            since=old.last_post_at if old else None,
            last_page=old.last_page if old else 1,
        )

    def _plan(self, row: TiebaThreadRow) -> TiebaThreadTask | None:
        """What to fetch of a listed thread: None when its reply count is unchanged."""
        old = self.snapshot.threads.get(row.tid)
        if old is not None and row.replies is not None and row.replies == old.replies:
            return None
        return self._task(row.tid, row.title, row.replies, old)

    # --- thread pages ---------------------------------------------------------------------------
    def parse_thread(self, response: Response, task: TiebaThreadTask) -> Iterator[Any]:
        selector = self.html_selector(response)
        if selector is not None:
            yield from self._thread_page(response, selector, task)

    def _thread_page(self, response: Response, selector: Selector, task: TiebaThreadTask) -> Iterator[Any]:
        now = self.rendered_at(response)
        try:
            page = parse_thread_page(selector, response.url, now)
        except NotTiebaPage as exc:
            self.report("bad_html", response.url, f"not a Tieba thread page: {exc}")
            return
        self.parsed()
        for problem in page.problems:
            self.report("parse", response.url, problem)
        chain = f"thread:{task.tid}"
        if self.repeats_previous_page(chain, tuple(floor.pid for floor in page.floors), response.url):
            return
        cut = bool(response.meta.get("cut"))
        floors = page.floors[:-1] if cut else page.floors
        title = page.title or task.title
        task.title = title
        if task.replies is None:
            task.replies = page.reply_count
        fetched_at = utcnow()
        for floor in floors:
            task.max_floor = max(task.max_floor, floor.floor)
            new_floor = floor.floor > task.known_floors
            if new_floor:
                yield self._floor_post(floor, task, response.url, fetched_at)
            task.newest = max(filter(None, [task.newest, floor.published_at]))
            for reply in floor.replies:
                stamp = reply.published_at or now
                task.newest = max(task.newest, stamp)
                if new_floor or task.since is None or stamp > task.since:
                    yield self._reply_post(reply, floor, task, response.url, fetched_at, now)
        task.last_page = page.page
        if cut:
            return  # the rest of this page is missing: the thread is redone next pass
        if page.next_url:
            request = self.next_page_request(
                chain,
                response.url,
                page.next_url,
                self.parse_thread,
                cb_kwargs={"task": task},
                priority=ITEM_NEXT_PRIORITY,
            )
            if request is not None:
                yield request
            return
        self.traps.end_chain(chain)
        yield StateUpdate(
            thread=(
                task.tid,
                ThreadState(
                    replies=task.replies if task.replies is not None else max(0, task.max_floor - 1),
                    last_post_at=max(filter(None, [task.newest, task.since]), default=None),
                    last_page=task.last_page,
                    floors=max(task.max_floor, task.known_floors),
                    per_page=FLOORS_PER_PAGE,
                ),
            )
        )

    def _floor_post(self, floor: TiebaFloor, task: TiebaThreadTask, page_url: str, fetched_at: datetime) -> Post:
        opening = floor.floor == 1
        return Post(
            id=make_post_id(self.source_id, floor.pid),
            source_id=self.source_id,
            native_id=floor.pid,
            kind="tieba_post",
            url=thread_page_url(page_url, task.tid) + f"?pid={floor.pid}#{floor.pid}",
            thread_id=task.tid,
            thread_title=task.title,
            floor=floor.floor,
            author=floor.author,
            title=task.title if opening else None,
            text=floor.text,
            published_at=floor.published_at,
            fetched_at=fetched_at,
            reply_count=task.replies if opening else floor.comment_count or None,
            jurisdiction_hint=self.source.jurisdiction_hint,
        )

    def _reply_post(
        self,
        reply: InFloorReply,
        floor: TiebaFloor,
        task: TiebaThreadTask,
        page_url: str,
        fetched_at: datetime,
        now: datetime,
    ) -> Post:
        # An in-floor reply seen again on a later pass keeps its id: the store upserts it.
        return Post(
            id=make_post_id(self.source_id, reply.spid),
            source_id=self.source_id,
            native_id=reply.spid,
            kind="comment",
            url=thread_page_url(page_url, task.tid) + f"?pid={floor.pid}&cid={reply.spid}#{reply.spid}",
            thread_id=task.tid,
            thread_title=task.title,
            floor=floor.floor,
            author=reply.author,
            text=reply.text,
            quote=floor.text[:200] or None,
            published_at=reply.published_at or now,
            fetched_at=fetched_at,
            repost_of=None,
            jurisdiction_hint=self.source.jurisdiction_hint,
        )
