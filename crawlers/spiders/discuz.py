"""Discuz! X3.x forums: board index -> thread lists -> thread pages, incrementally.

Thread lists are ordered by last post, so a board is paged only while its list pages show new or
changed (non-sticky) threads. A changed thread is fetched from the page holding its last known
floor onward, never from page 1 again; its state is updated once its last page has been read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from parsel import Selector
from scrapy.http import Response

from crawlers.parsers.discuz import (
    Floor,
    NotDiscuzPage,
    ThreadRow,
    floor_permalink,
    is_thread_list,
    page_of_floor,
    parse_board_index,
    parse_thread_list,
    parse_thread_page,
    thread_page_url,
)
from crawlers.spiders.base import ITEM_NEXT_PRIORITY, ITEM_PRIORITY, PatrolSpider
from crawlers.state import StateUpdate, ThreadState
from patrol.schema import Post, make_post_id, utcnow

DEFAULT_POSTS_PER_PAGE = 10


@dataclass
class ThreadTask:
    """One thread to bring up to date this pass, carried from page to page."""

    row: ThreadRow
    known_floors: int
    start_page: int
    per_page: int
    max_floor: int = 0


class DiscuzSpider(PatrolSpider):
    name = "discuz"

    async def start(self) -> Any:
        for request in self.start_pages(self.parse_entry):
            yield request

    def parse_entry(self, response: Response) -> Iterator[Any]:
        """A start URL: a board's thread list, or the forum index linking to boards."""
        selector = self.html_selector(response)
        if selector is None:
            return
        if is_thread_list(selector):
            yield from self._thread_list(response, selector)
            return
        boards = parse_board_index(selector, response.url)
        if not boards:
            self.report("bad_html", response.url, "neither a thread list nor a forum index with board links")
            return
        self.parsed()
        self.event("forum_index", url=response.url, boards=len(boards))
        for board_url in boards:
            request = self.page_request(board_url, self.parse_thread_list)
            if request is not None:
                yield request

    def parse_thread_list(self, response: Response) -> Iterator[Any]:
        selector = self.html_selector(response)
        if selector is not None:
            yield from self._thread_list(response, selector)

    def _thread_list(self, response: Response, selector: Selector) -> Iterator[Any]:
        try:
            listing = parse_thread_list(selector, response.url, self.rendered_at(response))
        except NotDiscuzPage as exc:
            self.report("bad_html", response.url, f"not a Discuz thread list: {exc}")
            return
        self.parsed()
        for problem in listing.problems:
            self.report("parse", response.url, problem)
        rows = listing.threads[:-1] if response.meta.get("cut") else listing.threads
        chain = f"list:{response.meta.get('chain') or response.url}"
        if self.repeats_previous_page(chain, tuple(row.tid for row in listing.threads), response.url):
            return
        fresh_normal = 0
        for row in rows:
            task = self._plan(row)
            if task is None:
                continue
            fresh_normal += 0 if row.sticky else 1
            url = thread_page_url(response.url, row.tid, task.start_page)
            request = self.page_request(url, self.parse_thread, cb_kwargs={"task": task}, priority=ITEM_PRIORITY)
            if request is not None:
                yield request
        self.event("thread_list", url=response.url, threads=len(listing.threads), fresh=fresh_normal)
        # Lists are sorted by last post: a page with nothing new means the pages after it have nothing new.
        if listing.next_url and fresh_normal:
            request = self.next_page_request(chain, response.url, listing.next_url, self.parse_thread_list)
            if request is not None:
                request.meta["chain"] = chain.removeprefix("list:")
                yield request

    def _plan(self, row: ThreadRow) -> ThreadTask | None:
        """What to fetch of a listed thread: None when unchanged since the last pass."""
        old = self.snapshot.threads.get(row.tid)
        if old is None:
            return ThreadTask(row=row, known_floors=0, start_page=1, per_page=DEFAULT_POSTS_PER_PAGE)
        same_replies = row.replies is None or row.replies == old.replies
        exact_time = row.last_post_at is not None and not row.last_post_approximate and old.last_post_at is not None
        same_time = not exact_time or row.last_post_at == old.last_post_at
        if same_replies and same_time:
            return None
        last_known = old.floors or old.replies + 1
        start = page_of_floor(last_known, old.per_page)
        if row.replies is not None:
            # Replies deleted since: the thread may now be shorter than what we knew.
            start = min(start, page_of_floor(row.replies + 1, old.per_page))
        return ThreadTask(row=row, known_floors=old.floors, start_page=start, per_page=old.per_page)

    def parse_thread(self, response: Response, task: ThreadTask) -> Iterator[Any]:
        selector = self.html_selector(response)
        if selector is None:
            return
        try:
            page = parse_thread_page(selector, response.url, self.rendered_at(response), per_page=task.per_page)
        except NotDiscuzPage as exc:
            self.report("bad_html", response.url, f"not a Discuz thread page: {exc}")
            return
        self.parsed()
        cut = bool(response.meta.get("cut"))
        problems, floors = list(page.problems), page.floors
        if cut:
            # The post the page was cut in is either unreadable (its problem is the cut, reported as
            # such) or read short (left out).
            last_pid = (selector.xpath("//div[starts-with(@id, 'post_')]/@id").getall() or ["post_"])[-1][5:]
            cut_problem = [p for p in problems if p.startswith(f"post {last_pid}:")]
            if cut_problem:
                problems.remove(cut_problem[0])
            else:
                floors = floors[:-1]
        for problem in problems:
            self.report("parse", response.url, problem)
        chain = f"thread:{task.row.tid}"
        if self.repeats_previous_page(chain, tuple(floor.pid for floor in page.floors), response.url):
            return
        title = page.title or task.row.title
        fetched_at = utcnow()
        for floor in floors:
            task.max_floor = max(task.max_floor, floor.floor)
            if floor.floor > task.known_floors:
                yield self._post(floor, task, title, response.url, fetched_at)
        if cut:
            # The rest of the page (and any next-page link) is missing: redo the thread next pass.
            return
        if page.next_url:
            if page.floors:
                task.per_page = len(page.floors) + len(page.problems)  # a page before the last is full
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
            # Without the rest of the thread its state must not advance: it is redone next pass.
            return
        self.traps.end_chain(chain)
        row = task.row
        yield StateUpdate(
            thread=(
                row.tid,
                ThreadState(
                    replies=row.replies if row.replies is not None else max(0, task.max_floor - 1),
                    last_post_at=None if row.last_post_approximate else row.last_post_at,
                    last_page=page.page,
                    floors=max(task.max_floor, task.known_floors),
                    per_page=task.per_page,
                ),
            )
        )

    def _post(self, floor: Floor, task: ThreadTask, title: str, page_url: str, fetched_at: Any) -> Post:
        tid = task.row.tid
        opening = floor.floor == 1
        return Post(
            id=make_post_id(self.source_id, floor.pid),
            source_id=self.source_id,
            native_id=floor.pid,
            kind="forum_post",
            url=floor_permalink(page_url, tid, floor.pid),
            thread_id=tid,
            thread_title=title,
            floor=floor.floor,
            author=floor.author,
            title=title if opening else None,
            text=floor.text,
            quote=floor.quote,
            published_at=floor.published_at,
            fetched_at=fetched_at,
            reply_count=task.row.replies if opening else None,
            jurisdiction_hint=self.source.jurisdiction_hint,
        )
