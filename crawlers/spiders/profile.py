"""Forums described by a site profile (YAML, `crawlers/site_profile.py`): list pages -> thread
pages, incrementally, with no code for the site.

A thread is fetched when it is new or its list row changed (reply count, last-post time or status
text: the row's `signature`). A changed thread is resumed at the last page read before, whose
post ids are remembered, so only posts after them are landed; its state advances once its last
page has been read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Response

from crawlers.parsers.profile import (
    NotProfilePage,
    ProfilePost,
    ProfileRow,
    parse_profile_list,
    parse_profile_thread,
)
from crawlers.site_profile import ProfileError, SiteProfile, load_profile
from crawlers.spiders.base import ITEM_NEXT_PRIORITY, ITEM_PRIORITY, PatrolSpider
from crawlers.state import StateUpdate, ThreadState
from patrol.schema import Post, make_post_id, utcnow


@dataclass
class ProfileThreadTask:
    key: str
    title: str | None
    row: ProfileRow | None
    known_ids: set[str]
    first_floor: int
    landed_floors: int
    page_ids: list[str] = field(default_factory=list)
    page_url: str = ""
    page_first_floor: int = 1


class ProfileSpider(PatrolSpider):
    name = "profile"
    profile: SiteProfile

    def configure(self, crawler: Crawler) -> None:
        super().configure(crawler)
        try:
            self.profile = load_profile(Path(self.source.profile or ""))
        except ProfileError as exc:
            raise ValueError(f"source {self.source_id!r}: {exc}") from exc

    async def start(self) -> Any:
        for request in self.start_pages(self.parse_list):
            yield request

    # --- lists ----------------------------------------------------------------------------------
    def parse_list(self, response: Response) -> Iterator[Any]:
        selector = self.html_selector(response)
        if selector is None:
            return
        try:
            listing = parse_profile_list(self.profile, selector, response.url, self.rendered_at(response))
        except NotProfilePage as exc:
            self.report("bad_html", response.url, f"profile {self.profile.name}: {exc}")
            return
        self.parsed()
        for problem in listing.problems:
            self.report("parse", response.url, problem)
        chain = f"list:{response.meta.get('chain') or response.url}"
        if self.repeats_previous_page(chain, tuple(row.key for row in listing.rows), response.url):
            return
        rows = listing.rows[:-1] if response.meta.get("cut") else listing.rows
        fresh_normal = 0
        for row in rows:
            old = self.snapshot.threads.get(row.key)
            if old is not None and old.signature == row.signature:
                continue
            fresh_normal += 0 if row.sticky else 1
            task = self._task(row.key, row.title, row, old)
            start_url = old.last_url if old is not None and old.last_url else row.url
            request = self.page_request(start_url, self.parse_thread, cb_kwargs={"task": task}, priority=ITEM_PRIORITY)
            if request is not None:
                yield request
        self.event("thread_list", url=response.url, threads=len(listing.rows), fresh=fresh_normal)
        # Lists ordered by last activity: a page with nothing new means the next pages have nothing new.
        # Lists ordered by creation change in place: their first `rescan_pages` pages are read anyway.
        depth = int(response.meta.get("list_depth", 1))
        if listing.next_url and (fresh_normal or depth < self.profile.listing.rescan_pages):
            request = self.next_page_request(chain, response.url, listing.next_url, self.parse_list)
            if request is not None:
                request.meta["chain"] = chain.removeprefix("list:")
                request.meta["list_depth"] = depth + 1
                yield request

    @staticmethod
    def _task(key: str, title: str | None, row: ProfileRow | None, old: ThreadState | None) -> ProfileThreadTask:
        return ProfileThreadTask(
            key=key,
            title=title,
            row=row,
            known_ids=set(old.last_ids) if old else set(),
            first_floor=old.last_first_floor if old else 1,
            landed_floors=old.floors if old else 0,
        )

    # --- threads --------------------------------------------------------------------------------
    def parse_thread(self, response: Response, task: ProfileThreadTask) -> Iterator[Any]:
        selector = self.html_selector(response)
        if selector is None:
            return
        now = self.rendered_at(response)
        try:
            page = parse_profile_thread(self.profile, selector, response.url, now, first_floor=task.first_floor)
        except NotProfilePage as exc:
            self.report("bad_html", response.url, f"profile {self.profile.name}: {exc}")
            return
        self.parsed()
        for problem in page.problems:
            self.report("parse", response.url, problem)
        chain = f"thread:{task.key}"
        ids = tuple(post.native_id or f"{response.url}#{post.floor}" for post in page.posts)
        if self.repeats_previous_page(chain, ids, response.url):
            return
        cut = bool(response.meta.get("cut"))
        posts = page.posts[:-1] if cut else page.posts
        task.title = task.title or page.title
        fetched_at = utcnow()
        for post, post_key in zip(posts, ids, strict=False):
            task.landed_floors = max(task.landed_floors, post.floor or 0)
            if post_key not in task.known_ids:
                yield self._post(post, task, response.url, fetched_at)
        task.page_ids, task.page_url, task.page_first_floor = list(ids), response.url, task.first_floor
        if cut:
            return
        if page.next_url:
            task.first_floor += len(page.posts)
            task.known_ids = set()
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
        row = task.row
        yield StateUpdate(
            thread=(
                task.key,
                ThreadState(
                    replies=row.replies
                    if row is not None and row.replies is not None
                    else max(0, task.landed_floors - 1),
                    last_post_at=row.last_post_at if row is not None else None,
                    floors=task.landed_floors,
                    signature=row.signature if row is not None else None,
                    last_url=task.page_url,
                    last_ids=task.page_ids[-200:],
                    last_first_floor=task.page_first_floor,
                ),
            )
        )

    def _post(self, post: ProfilePost, task: ProfileThreadTask, page_url: str, fetched_at: datetime) -> Post:
        native = f"{task.key}-{post.native_id}" if post.native_id else None
        opening = post.floor == 1
        return Post(
            id=make_post_id(self.source_id, native, url=page_url, floor=post.floor),
            source_id=self.source_id,
            native_id=native,
            kind="forum_post",
            url=f"{page_url}#{post.native_id}" if post.native_id else page_url,
            thread_id=task.key,
            thread_title=task.title,
            floor=post.floor,
            author=post.author,
            title=task.title if opening else None,
            text=post.text,
            quote=post.quote,
            published_at=post.published_at,
            fetched_at=fetched_at,
            jurisdiction_hint=self.source.jurisdiction_hint,
        )
