"""Weibo-style JSON APIs (m.weibo.cn shape): account containers, long texts, comments, incrementally.

Cards come newest first. Each container keeps a high-water mark (the highest mid landed); paging
stops at the first non-pinned card at or below it. A pinned card is first whatever its age, so it
never stops paging. The mark advances only after every new weibo of the pass (long texts included)
has been yielded, so a failure mid-way re-fetches rather than skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.parsers.weibo import (
    Comment,
    EmptyDocument,
    Mblog,
    WeiboFormatError,
    load_json,
    parse_cards,
    parse_comments,
    parse_long_text,
)
from crawlers.spiders.base import PatrolSpider
from crawlers.state import CommentMark, ContainerState, StateUpdate
from patrol.schema import Post, make_post_id, utcnow


@dataclass
class ContainerCrawl:
    """One container's progress this pass."""

    container_id: str
    high_water: int | None
    max_seen: int = 0
    long_texts_pending: int = 0
    comment_walks_pending: int = 0
    paging_done: bool = False
    failed: bool = False
    committed: bool = False


@dataclass
class CommentCrawl:
    """One weibo's new comments this pass."""

    mid: int
    status_url: str
    known_max_id: int
    count: int
    max_seen: int = 0
    #: The container of a weibo first seen this pass: its mark waits for this walk to end.
    container: ContainerCrawl | None = None


def container_id_from_url(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("containerid")
    return values[0] if values else None


def with_query(url: str, **params: str | int) -> str:
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    query.update({key: str(value) for key, value in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query)))


class WeiboSpider(PatrolSpider):
    name = "weibo"

    def __init__(self, source_id: str = "", pass_id: str = "", **kwargs: Any) -> None:
        super().__init__(source_id, pass_id, **kwargs)
        self._long_texts_requested: set[int] = set()

    async def start(self) -> Any:
        self.report_startup_errors()
        for url in self.start_urls:
            container_id = container_id_from_url(url) or url
            known = self.snapshot.containers.get(container_id)
            crawl = ContainerCrawl(container_id=container_id, high_water=known.max_mid if known else None)
            request = self.page_request(
                url, self.parse_cards, cb_kwargs={"crawl": crawl}, errback=self.cards_failed, dont_filter=True
            )
            if request is not None:
                yield request

    def _json(self, response: Response) -> Any | None:
        page = self.decode(response)
        if page is None:
            return None
        try:
            return load_json(page.text)
        except EmptyDocument as exc:
            self.report("empty", response.url, str(exc))
            return None

    # --- card lists -----------------------------------------------------------------------------
    def parse_cards(self, response: Response, crawl: ContainerCrawl) -> Iterator[Any]:
        document = self._json(response)
        if document is None:
            crawl.failed = True
            yield from self._finish_paging(crawl)
            return
        now = self.rendered_at(response)
        try:
            cards = parse_cards(document, now)
        except WeiboFormatError as exc:
            self.report("parse", response.url, str(exc))
            crawl.failed = True
            yield from self._finish_paging(crawl)
            return
        self.parsed()
        for problem in cards.problems:
            self.report("parse", response.url, problem)
        chain = f"container:{crawl.container_id}"
        if self.repeats_previous_page(chain, tuple(str(m.mid) for m in cards.mblogs), response.url):
            yield from self._finish_paging(crawl)
            return
        for mblog in cards.mblogs:
            yield from self._comments_if_grown(mblog, response.url)
        reached = False
        fresh = 0
        for mblog in cards.mblogs:
            if crawl.high_water is not None and mblog.mid <= crawl.high_water:
                if mblog.pinned:
                    continue
                reached = True
                break
            fresh += 1
            crawl.max_seen = max(crawl.max_seen, mblog.mid)
            yield from self._emit(mblog, response.url, crawl)
        self.event("cards", container=crawl.container_id, url=response.url, cards=len(cards.mblogs), fresh=fresh)
        next_url = None
        if cards.since_id:
            next_url = with_query(response.url, since_id=cards.since_id)
        elif cards.next_page:
            next_url = with_query(response.url, page=cards.next_page)
        if not reached and not cards.exhausted and next_url:
            request = self.next_page_request(
                chain, response.url, next_url, self.parse_cards, cb_kwargs={"crawl": crawl}, errback=self.cards_failed
            )
            if request is not None:
                yield request
                return
            # Out of budget or a trap: older weibos beyond it are given up, the newest are what matters.
        yield from self._finish_paging(crawl)

    def cards_failed(self, failure: Failure) -> Iterator[Any]:
        self.on_request_error(failure)
        crawl: ContainerCrawl = failure.request.cb_kwargs["crawl"]  # type: ignore[attr-defined]
        crawl.failed = True
        yield from self._finish_paging(crawl)

    def _finish_paging(self, crawl: ContainerCrawl) -> Iterator[Any]:
        crawl.paging_done = True
        yield from self._maybe_commit(crawl)

    def _maybe_commit(self, crawl: ContainerCrawl) -> Iterator[Any]:
        """Advance the mark once paging is over and every long text and new comment walk has ended.

        A mark saved earlier would let a crash between it and the comments lose them for good: the
        next pass would take those weibos as done.
        """
        if not crawl.paging_done or crawl.long_texts_pending or crawl.comment_walks_pending or crawl.committed:
            return
        crawl.committed = True
        if crawl.failed:
            # A page failed: weibos behind it were not seen, so the mark stays and they are retried.
            return
        if crawl.max_seen > (crawl.high_water or 0):
            yield StateUpdate(container=(crawl.container_id, ContainerState(max_mid=crawl.max_seen)))

    # --- weibos ---------------------------------------------------------------------------------
    def _emit(self, mblog: Mblog, page_url: str, crawl: ContainerCrawl) -> Iterator[Any]:
        repost_of = None
        if mblog.retweeted is not None:
            original = mblog.retweeted
            repost_of = make_post_id(self.source_id, str(original.mid))
            yield from self._weibo_or_long_text(original, page_url, crawl, repost_of=None)
        yield from self._weibo_or_long_text(mblog, page_url, crawl, repost_of=repost_of)
        if mblog.comments_count > 0 and self.snapshot.comments.get(str(mblog.mid)) is None:
            yield from self._comments_request(mblog, page_url, known_max_id=0, container=crawl)

    def _weibo_or_long_text(
        self, mblog: Mblog, page_url: str, crawl: ContainerCrawl, *, repost_of: str | None
    ) -> Iterator[Any]:
        if not mblog.is_long_text:
            yield self._weibo_post(mblog, page_url, mblog.text, repost_of)
            return
        if mblog.mid in self._long_texts_requested:
            # An original retweeted twice: its one request yields the post. (A second request would
            # be dropped by the duplicate filter without a callback and hold the mark back forever.)
            return
        request = self.page_request(
            urljoin(page_url, f"/api/statuses/extend?id={mblog.mid}"),
            self.parse_long_text,
            cb_kwargs={"mblog": mblog, "crawl": crawl, "repost_of": repost_of},
            errback=self.long_text_failed,
        )
        if request is None:
            # Out of budget: the truncated text is better than nothing.
            yield self._weibo_post(mblog, page_url, mblog.text, repost_of)
            return
        crawl.long_texts_pending += 1
        self._long_texts_requested.add(mblog.mid)
        yield request

    def parse_long_text(
        self, response: Response, mblog: Mblog, crawl: ContainerCrawl, repost_of: str | None
    ) -> Iterator[Any]:
        text = mblog.text
        document = self._json(response)
        if document is not None:
            try:
                text = parse_long_text(document)
                self.parsed()
            except WeiboFormatError as exc:
                self.report("parse", response.url, str(exc))
        # On failure the card's truncated text is landed: better than losing the weibo.
        yield self._weibo_post(mblog, response.url, text, repost_of)
        crawl.long_texts_pending -= 1
        yield from self._maybe_commit(crawl)

    def long_text_failed(self, failure: Failure) -> Iterator[Any]:
        self.on_request_error(failure)
        request: Request = failure.request  # type: ignore[attr-defined]
        crawl: ContainerCrawl = request.cb_kwargs["crawl"]
        mblog: Mblog = request.cb_kwargs["mblog"]
        # The card's truncated text is better than losing the weibo.
        yield self._weibo_post(mblog, request.url, mblog.text, request.cb_kwargs["repost_of"])
        crawl.long_texts_pending -= 1
        yield from self._maybe_commit(crawl)

    def _weibo_post(self, mblog: Mblog, page_url: str, text: str, repost_of: str | None) -> Post:
        return Post(
            id=make_post_id(self.source_id, str(mblog.mid)),
            source_id=self.source_id,
            native_id=str(mblog.mid),
            kind="weibo",
            url=urljoin(page_url, f"/status/{mblog.mid}"),
            thread_id=str(mblog.mid),
            author=mblog.author,
            text=text,
            published_at=mblog.published_at,
            fetched_at=utcnow(),
            repost_of=repost_of,
            reply_count=mblog.comments_count,
            jurisdiction_hint=self.source.jurisdiction_hint,
        )

    # --- comments -------------------------------------------------------------------------------
    def _comments_if_grown(self, mblog: Mblog, page_url: str) -> Iterator[Any]:
        """Comments of an already-landed weibo whose comment count went up since."""
        mark = self.snapshot.comments.get(str(mblog.mid))
        if mark is not None and mblog.comments_count > mark.count:
            yield from self._comments_request(mblog, page_url, known_max_id=mark.max_id)

    def _comments_request(
        self, mblog: Mblog, page_url: str, *, known_max_id: int, container: ContainerCrawl | None = None
    ) -> Iterator[Any]:
        task = CommentCrawl(
            mid=mblog.mid,
            status_url=urljoin(page_url, f"/status/{mblog.mid}"),
            known_max_id=known_max_id,
            count=mblog.comments_count,
            max_seen=known_max_id,
            container=container,
        )
        request = self._comment_page_request(page_url, task, page=1)
        if request is not None:
            if container is not None:
                container.comment_walks_pending += 1
            yield request

    def _end_comment_walk(self, task: CommentCrawl, *, ok: bool) -> Iterator[Any]:
        container = task.container
        if container is None:
            return
        task.container = None  # a walk ends once, whichever way
        if not ok:
            container.failed = True  # keep the mark: the next pass fetches these comments again
        container.comment_walks_pending -= 1
        yield from self._maybe_commit(container)

    def comments_failed(self, failure: Failure) -> Iterator[Any]:
        self.on_request_error(failure)
        request: Request = failure.request  # type: ignore[attr-defined]
        yield from self._end_comment_walk(request.cb_kwargs["task"], ok=False)

    def _comment_page_request(self, page_url: str, task: CommentCrawl, *, page: int) -> Any:
        return self.page_request(
            urljoin(page_url, f"/api/comments/show?id={task.mid}&page={page}"),
            self.parse_comments,
            cb_kwargs={"task": task, "page": page},
            errback=self.comments_failed,
        )

    def parse_comments(self, response: Response, task: CommentCrawl, page: int) -> Iterator[Any]:
        document = self._json(response)
        if document is None:
            yield from self._end_comment_walk(task, ok=False)
            return
        try:
            comments = parse_comments(document, self.rendered_at(response))
        except WeiboFormatError as exc:
            self.report("parse", response.url, str(exc))
            yield from self._end_comment_walk(task, ok=False)
            return
        self.parsed()
        for problem in comments.problems:
            self.report("parse", response.url, problem)
        fresh = [comment for comment in comments.comments if comment.comment_id > task.known_max_id]
        for comment in fresh:
            task.max_seen = max(task.max_seen, comment.comment_id)
            yield self._comment_post(comment, task)
        # Newest first: a page that reaches known comments, or the last page, ends the walk.
        max_pages = self.settings.getint("PATROL_WEIBO_MAX_COMMENT_PAGES", 5)
        more = fresh and len(fresh) == len(comments.comments) and page < min(comments.max_page, max_pages)
        if more:
            request = self._comment_page_request(response.url, task, page=page + 1)
            if request is not None:
                yield request
                return
        yield StateUpdate(comment=(str(task.mid), CommentMark(max_id=task.max_seen, count=task.count)))
        yield from self._end_comment_walk(task, ok=True)

    def _comment_post(self, comment: Comment, task: CommentCrawl) -> Post:
        # Weibo draws comment ids and mids from one id space, so the bare id is unique in the source.
        native_id = str(comment.comment_id)
        return Post(
            id=make_post_id(self.source_id, native_id),
            source_id=self.source_id,
            native_id=native_id,
            kind="comment",
            url=f"{task.status_url}#comment-{comment.comment_id}",
            thread_id=str(task.mid),
            author=comment.author,
            text=comment.text,
            quote=comment.reply_text,
            published_at=comment.published_at,
            fetched_at=utcnow(),
            jurisdiction_hint=self.source.jurisdiction_hint,
        )
