"""One page to its title, author, publish time and text: what `patrol extract` prints.

A Discuz! thread page or a Tieba thread page gives its opening post (floor 1, or the first floor
on the page); any other page goes through the generic article extractor. The bytes are decoded
like a crawl decodes them (lying charsets caught, GB as GB18030, Big5 as CP950).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parsel import Selector

from crawlers.encoding import decode_page
from crawlers.parsers import discuz, tieba
from crawlers.parsers.article import extract_article
from crawlers.timeparse import SITE_TZ


@dataclass(frozen=True)
class ExtractedPage:
    url: str
    extractor: str
    title: str | None
    author: str | None
    published_at: datetime | None
    content: str
    encoding: str
    charset_mismatch: bool

    def as_dict(self) -> dict[str, str | bool | None]:
        """JSON-ready, the time in ISO 8601 at +08:00 (how people here read it)."""
        return {
            "url": self.url,
            "extractor": self.extractor,
            "title": self.title,
            "author": self.author,
            "published_at": self.published_at.astimezone(SITE_TZ).isoformat() if self.published_at else None,
            "content": self.content,
            "encoding": self.encoding,
            "charset_mismatch": self.charset_mismatch,
        }


def extract_page(body: bytes, *, url: str, now: datetime, content_type: str | bytes | None = None) -> ExtractedPage:
    """The page's post or article. Never raises on bad bytes: unreadable fields are None."""
    page = decode_page(body, content_type)
    selector = Selector(text=page.text or "<html></html>", type="html", base_url=url or None)
    common = {"url": url, "encoding": page.encoding, "charset_mismatch": page.charset_mismatch}
    if discuz.is_thread_page(selector):
        try:
            thread = discuz.parse_thread_page(selector, url or "forum.php", now)
        except discuz.NotDiscuzPage:
            thread = None
        if thread is not None and thread.floors:
            first = thread.floors[0]
            return ExtractedPage(
                extractor="discuz",
                title=thread.title,
                author=first.author,
                published_at=first.published_at,
                content=first.text,
                **common,  # type: ignore[arg-type]
            )
    if tieba.is_thread_page(selector):
        try:
            tieba_thread = tieba.parse_thread_page(selector, url or "/p/0", now)
        except tieba.NotTiebaPage:
            tieba_thread = None
        if tieba_thread is not None and tieba_thread.floors:
            floor = tieba_thread.floors[0]
            return ExtractedPage(
                extractor="tieba",
                title=tieba_thread.title,
                author=floor.author,
                published_at=floor.published_at,
                content=floor.text,
                **common,  # type: ignore[arg-type]
            )
    article = extract_article(page.text, now=now)
    return ExtractedPage(
        extractor="article",
        title=article.title,
        author=article.author,
        published_at=article.published_at,
        content=article.text,
        **common,  # type: ignore[arg-type]
    )
