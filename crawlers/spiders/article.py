"""News and article pages read by the generic extractor: start pages -> article links -> articles.

A start URL is a section or list page (a URL matching the source's `article_links` is read as an
article itself). On it, the links that look like articles are followed: those matching
`article_links` when the source sets it, else links on the source's domains whose anchor text reads
like a headline and whose URL looks like a content page (`crawlers.links.article_links`). Article
URLs already landed are remembered in the state, so an unchanged section costs one request a pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from parsel import Selector
from scrapy.http import Response

from crawlers.links import article_links
from crawlers.parsers.article import extract_article
from crawlers.spiders.base import ITEM_PRIORITY, PatrolSpider
from crawlers.state import StateUpdate, url_key
from crawlers.traps import canonical_url
from patrol.schema import Post, make_post_id, utcnow

#: Shortest body, in characters, for a page to count as an article.
MIN_ARTICLE_CHARS = 30


class ArticleSpider(PatrolSpider):
    name = "article"
    _pattern: re.Pattern[str] | None = None

    async def start(self) -> Any:
        self.report_startup_errors()
        self._pattern = re.compile(self.source.article_links) if self.source.article_links else None
        for url in self.start_urls:
            is_article = bool(self._pattern and self._pattern.search(url))
            callback = self.parse_article if is_article else self.parse_list
            request = self.page_request(url, callback, dont_filter=True)
            if request is not None:
                yield request

    def parse_list(self, response: Response) -> Iterator[Any]:
        page = self.decode(response)
        if page is None:
            return
        selector = Selector(text=page.text, type="html", base_url=response.url)
        links = article_links(selector, response.url, allowed_domains=self.allowed_domains, pattern=self._pattern)
        if not links:
            self.report("bad_html", response.url, "no article links on the start page")
            return
        self.parsed()
        limit = self.settings.getint("PATROL_ARTICLE_MAX_LINKS", 200)
        fresh = [url for url in links if url_key(canonical_url(url)) not in self.snapshot.seen_urls][:limit]
        self.event("article_list", url=response.url, links=len(links), fresh=len(fresh))
        for url in fresh:
            request = self.page_request(url, self.parse_article, priority=ITEM_PRIORITY)
            if request is not None:
                yield request

    def parse_article(self, response: Response) -> Iterator[Any]:
        page = self.decode(response)
        if page is None:
            return
        now = self.rendered_at(response)
        cut = self.truncated(response, page.text)
        article = extract_article(page.text, now=now)
        canonical = canonical_url(response.url)
        if not article.title or len(article.text) < MIN_ARTICLE_CHARS:
            self.report("bad_html", response.url, "no article on the page (no headline or no body text)")
            # Not an article (a section link, a video page): not worth fetching again every pass.
            yield StateUpdate(seen_urls=[canonical])
            return
        self.parsed()
        yield Post(
            id=make_post_id(self.source_id, url=canonical),
            source_id=self.source_id,
            kind="article",
            url=response.url,
            author=article.author,
            title=article.title,
            text=article.text,
            published_at=article.published_at or now,
            fetched_at=utcnow(),
            jurisdiction_hint=self.source.jurisdiction_hint,
        )
        if not cut:  # a cut page is landed as it is and read again next pass
            yield StateUpdate(seen_urls=[canonical])
