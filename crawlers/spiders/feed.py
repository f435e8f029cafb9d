"""RSS/RDF/Atom feeds: each start URL is a feed; one request per feed per pass.

The request is conditional (`If-None-Match` / `If-Modified-Since` from the last pass), so an
unchanged feed answers `304 Not Modified` with no body. An entry is new when its key (id, else
link, else a hash of its text) was not landed before and, if dated, it is not older than the feed's
high-water mark by more than `FEED_BACKDATE_GRACE` (a feed that drops and re-adds old entries does
not bring them back as new).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawlers.parsers.feed import FeedEntry, NotAFeed, native_id_of, parse_feed
from crawlers.spiders.base import PatrolSpider
from crawlers.state import MAX_FEED_KEYS, FeedState, StateUpdate
from patrol.schema import Post, make_post_id, utcnow

#: How far before the high-water mark an unseen, dated entry may be and still count as new.
FEED_BACKDATE_GRACE = timedelta(days=7)


class FeedSpider(PatrolSpider):
    name = "feed"

    async def start(self) -> Any:
        self.report_startup_errors()
        for url in self.start_urls:
            request = self.page_request(url, self.parse_feed, dont_filter=True)
            if request is None:
                continue
            yield self._conditional(request, self.snapshot.feeds.get(url))

    @staticmethod
    def _conditional(request: Request, known: FeedState | None) -> Request:
        request.meta["handle_httpstatus_list"] = [304]
        request.meta["feed_url"] = request.url
        if known is not None:
            if known.etag:
                request.headers[b"If-None-Match"] = known.etag.encode("latin-1", errors="ignore")
            if known.last_modified:
                request.headers[b"If-Modified-Since"] = known.last_modified.encode("latin-1", errors="ignore")
        return request

    def parse_feed(self, response: Response) -> Iterator[Any]:
        feed_url = str(response.meta.get("feed_url") or response.url)
        if response.status == 304:
            self.parsed()
            self.event("feed_unchanged", url=feed_url)
            return
        page = self.decode(response)
        if page is None:
            return
        now = self.rendered_at(response)
        try:
            document = parse_feed(page.text, now=now)
        except NotAFeed as exc:
            self.report("bad_html", response.url, str(exc))
            return
        self.parsed()
        for problem in document.problems:
            self.event("feed_lenient", url=response.url, problem=problem.replace(" ", "_")[:80])
        known = self.snapshot.feeds.get(feed_url)
        seen = set(known.keys) if known else set()
        fresh = [entry for entry in document.entries if self._is_new(entry, seen, known)]
        fetched_at = utcnow()
        for entry in fresh:
            yield self._post(entry, feed_url, document.title, fetched_at)
        dated = [entry.published_at for entry in document.entries if entry.dated_by == "entry"]
        latest = max(dated) if dated else None
        self.event("feed", url=feed_url, version=document.version, entries=len(document.entries), fresh=len(fresh))
        yield StateUpdate(
            feed=(
                feed_url,
                FeedState(
                    etag=_header(response, b"ETag"),
                    last_modified=_header(response, b"Last-Modified"),
                    latest_at=latest,
                    keys=[entry.key for entry in document.entries][-MAX_FEED_KEYS:],
                ),
            )
        )

    @staticmethod
    def _is_new(entry: FeedEntry, seen: set[str], known: FeedState | None) -> bool:
        if entry.key in seen:
            return False
        if known is None or known.latest_at is None or entry.dated_by != "entry":
            return True
        return entry.published_at > known.latest_at - FEED_BACKDATE_GRACE

    def _post(self, entry: FeedEntry, feed_url: str, feed_title: str | None, fetched_at: Any) -> Post:
        native_id = native_id_of(entry.key)
        return Post(
            id=make_post_id(self.source_id, native_id),
            source_id=self.source_id,
            native_id=native_id,
            kind="feed_item",
            url=entry.link or f"{feed_url}#{native_id}",
            thread_id=feed_url,
            thread_title=feed_title,
            author=entry.author,
            title=entry.title,
            text=entry.text,
            published_at=entry.published_at,
            fetched_at=fetched_at,
            jurisdiction_hint=self.source.jurisdiction_hint,
        )


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
