"""Which links on a section or list page lead to articles.

Without a site rule, an article link is one on the source's domains (a subdomain counts) whose
anchor text reads like a headline (at least `MIN_HEADLINE_CHARS` characters, not a menu word) and
whose URL looks like a content page: a file ending in `.html`/`.htm`/`.shtml`/`.php` with a query,
or a path holding a number of four or more digits (an id or a date). Navigation, pagination,
login and share links fail one of those tests. With a site rule (`article_links`, a regex), the
links matching it are taken, whatever their text.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from crawlers.html_text import tidy_text
from crawlers.traps import canonical_url

MIN_HEADLINE_CHARS = 8
_CONTENT_PATH = re.compile(r"(?:\.s?html?$|\.php$|/\d{4,}|\d{4,}[^/]*$|/[a-z]/[A-Za-z0-9]{8,})", re.IGNORECASE)
_NOT_ARTICLES = re.compile(r"(?:login|register|passport|javascript:|mailto:|/tag/|/search|/list|index\.s?html?$)", re.I)


def _on_site(host: str, allowed_domains: list[str]) -> bool:
    return not allowed_domains or any(host == d or host.endswith("." + d) for d in allowed_domains)


def article_links(
    page: Selector, base_url: str, *, allowed_domains: list[str], pattern: re.Pattern[str] | None = None
) -> list[str]:
    """Absolute article URLs on the page, in page order, each once."""
    found: dict[str, str] = {}
    base_key = canonical_url(base_url)
    for anchor in page.css("a[href]"):
        href = (anchor.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(base_url, href).split("#", 1)[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not _on_site(parts.hostname or "", allowed_domains):
            continue
        key = canonical_url(url)
        if key == base_key or key in found:
            continue
        if pattern is not None:
            if pattern.search(url):
                found[key] = url
            continue
        text = tidy_text(" ".join(anchor.xpath(".//text()").getall())) or anchor.attrib.get("title", "")
        if len(re.sub(r"\s+", "", text)) < MIN_HEADLINE_CHARS or _NOT_ARTICLES.search(url):
            continue
        if _CONTENT_PATH.search(parts.path) or (parts.query and parts.path.endswith((".php", ".asp", ".aspx", ".jsp"))):
            found[key] = url
    return list(found.values())
