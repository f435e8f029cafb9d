"""A news or article page's title, author, publish time and body, found without per-site rules.

The body is the block whose own text is densest: for every element, its non-link text per tag
(navigation, related-news lists and footers are mostly links or many short tags), weighted by
its punctuation (prose has commas and full stops, menus do not) and its paragraph count, as in
text-and-symbol-density extraction. Inside the chosen block, link lists and boilerplate lines are
dropped.

The title is the heading (`h1`-`h3`) that the `<title>` or `og:title` contains, else `<title>`
before its site suffix. The publish time is the first of: publishing meta tags (`article:
published_time`, `pubdate`, ...), `<time datetime>`, JSON-LD or script variables
(`datePublished`, `publish_time`, `pubDate`), then the first full date-time shown after the title
and before the body. The author is the `作者`/`记者`/`责任编辑` line, else a plausible
`<meta name="author">`.

Nothing here raises on bad input: unreadable fields come back as None and the body as "".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from lxml import html as lxml_html
from lxml.etree import _Element

from crawlers.html_text import element_text, tidy_text
from crawlers.timeparse import SiteTimeError, parse_site_time

_DROP_TAGS = ("script", "style", "noscript", "iframe", "textarea", "select", "button", "svg", "canvas", "template")
# Inline and paragraph tags do not make a block less dense: an article is many <p> and <span>.
_FLOW_TAGS = frozenset(
    {
        "a",
        "span",
        "em",
        "strong",
        "b",
        "i",
        "u",
        "font",
        "br",
        "img",
        "p",
        "sup",
        "sub",
        "small",
        "big",
        "code",
        "label",
        "abbr",
        "cite",
        "q",
        "s",
        "strike",
        "wbr",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "center",
    }
)
_PUNCTUATION = frozenset("，。！？；：、“”‘’（）《》【】…—,.!?;:\"'()")
_TITLE_SEPARATORS = re.compile(r"\s*(?:[_|｜]|--|—|\s-\s|\s–\s)\s*")
_META_TIME_KEYS = (
    "article:published_time",
    "og:release_date",
    "og:article:published_time",
    "pubdate",
    "publishdate",
    "publish_date",
    "publish-date",
    "publishtime",
    "publish_time",
    "pubtime",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "date",
    "datepublished",
    "sailthru.date",
    "weibo:article:create_at",
)
_SCRIPT_TIME = re.compile(
    r"""["']?(?:datePublished|pubDate|publish_?[tT]ime|publishDate|pubtime|ptime|createTime)["']?\s*[:=]\s*"""
    r"""["'](\d{4}[-/年]\d{1,2}[-/月]\d{1,2}[日T ]?\s*\d{1,2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:?\d{2}|Z)?)["']"""
)
_VISIBLE_TIME = re.compile(
    r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*|T)\d{1,2}:\d{2}(?::\d{2})?)"
    r"|(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日)"
)
#: Characters read past the end of the body when looking for the author (the "责任编辑" line).
_AFTER_BODY_CHARS = 600
# In the byline only: relative times a portal prints for fresh news.
_RELATIVE_TIME = re.compile(r"\d+\s*(?:秒|分钟|小时|天)前|(?:今天|昨天|前天)\s*\d{1,2}:\d{2}|刚刚")
_UPDATED = re.compile(r"更新|修改|编辑于|updated", re.IGNORECASE)
_NAME = r"([\u4e00-\u9fa5·]{2,5}|[A-Za-z][A-Za-z .'-]{1,30}[A-Za-z])"
_AUTHOR_PATTERNS = (
    re.compile(r"作者\s*[:：\s]\s*" + _NAME),
    re.compile(r"[文稿]\s*[/／|]\s*(?:[\u4e00-\u9fa5]{0,10}?(?:作者|记者|通讯员)\s*)?" + _NAME),
    re.compile(r"(?:本报|本台|本网)?记者\s*[:：]\s*" + _NAME),
    re.compile(r"责任编辑\s*[:：]\s*" + _NAME),
    re.compile(r"(?<![责任])编辑\s*[:：]\s*" + _NAME),
)
# Words that follow 作者/编辑 in running text and are not names.
_NOT_NAMES = frozenset({"本人", "佚名", "未知", "admin", "网友", "来源", "原创", "发布", "时间", "日期"})
_BOILERPLATE = re.compile(
    r"^(?:分享到|扫一扫|打开.{0,6}APP|点击.{0,10}(?:阅读|查看)|举报|返回(?:顶部|首页)|上一篇|下一篇|相关(?:新闻|阅读|推荐)"
    r"|(?:版权所有|Copyright|©)).*$"
)


@dataclass(frozen=True)
class Article:
    title: str | None
    author: str | None
    published_at: datetime | None
    text: str
    #: The time string as the page printed it (for a human checking the extraction).
    published_text: str | None = None


def _parse(html: str) -> _Element | None:
    if not html or not html.strip():
        return None
    try:
        # A str with an XML declaration is refused by lxml; bytes are not re-decoded (utf-8 given).
        document = lxml_html.document_fromstring(
            html.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8", remove_comments=True)
        )
    except (etree.ParserError, ValueError):
        return None
    return document


def _metas(root: _Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        content = (meta.get("content") or "").strip()
        if key and content and key not in found:
            found[key] = content
    return found


# --- title --------------------------------------------------------------------------------------
def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _title(root: _Element, metas: dict[str, str]) -> str | None:
    page_title = tidy_text(" ".join(root.xpath("//head/title//text()"))) or tidy_text(
        " ".join(root.xpath("//title//text()"))
    )
    references = [ref for ref in (page_title, metas.get("og:title", "")) if ref]
    best: str | None = None
    for heading in root.xpath("//h1 | //h2 | //h3"):
        text = tidy_text(" ".join(heading.itertext()))
        if len(text) < 4 or len(text) > 120:
            continue
        squashed = _squash(text)
        if any(squashed in _squash(ref) for ref in references) and (best is None or len(text) > len(best)):
            best = text
    if best:
        return best
    if og := metas.get("og:title"):
        return tidy_text(og)
    if page_title:
        parts = [part for part in _TITLE_SEPARATORS.split(page_title) if part]
        return max(parts[:2], key=len) if parts else page_title
    for heading in root.xpath("//h1"):
        text = tidy_text(" ".join(heading.itertext()))
        if text:
            return text
    return None


# --- body ---------------------------------------------------------------------------------------
@dataclass
class _Stats:
    text: int = 0
    link_text: int = 0
    tags: int = 0
    link_tags: int = 0
    punctuation: int = 0
    paragraphs: int = 0


def _own_text(element: _Element) -> str:
    return (element.text or "") + "".join((child.tail or "") for child in element if isinstance(child.tag, str))


def _measure(element: _Element, stats: dict[_Element, _Stats], in_link: bool = False) -> _Stats:
    tag = element.tag if isinstance(element.tag, str) else ""
    link = in_link or tag == "a"
    own = re.sub(r"\s+", "", _own_text(element))
    mine = _Stats(tags=0 if tag in _FLOW_TAGS else 1, link_tags=0, paragraphs=1 if tag == "p" else 0)
    mine.text = len(own)
    if link:
        mine.link_text = len(own)
    else:
        mine.punctuation = sum(1 for char in own if char in _PUNCTUATION)
    if tag == "br":
        mine.paragraphs = 1
    for child in element:
        if not isinstance(child.tag, str):
            continue
        sub = _measure(child, stats, link)
        mine.text += sub.text
        mine.link_text += sub.link_text
        mine.tags += sub.tags
        mine.link_tags += sub.link_tags
        mine.punctuation += sub.punctuation
        mine.paragraphs += sub.paragraphs
    stats[element] = mine
    return mine


def _score(stat: _Stats) -> float:
    plain = stat.text - stat.link_text
    if plain < 20:
        return 0.0
    density = plain / max(1, stat.tags)
    link_share = stat.link_text / stat.text if stat.text else 0.0
    return density * math.log(1 + stat.punctuation) * math.log10(stat.paragraphs + 2) * (1 - link_share) ** 2


def _body_element(root: _Element) -> _Element | None:
    body = root.find("body")
    start = body if body is not None else root
    stats: dict[_Element, _Stats] = {}
    _measure(start, stats)
    candidates = [
        (score, element)
        for element, stat in stats.items()
        if element.tag not in ("a", "span", "em", "strong", "b", "i", "font", "br", "img")
        and (score := _score(stat)) > 0
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda pair: pair[0])[1]


def _link_lists(element: _Element) -> frozenset[_Element]:
    """Sub-blocks of the body that are mostly links (related news, tag clouds): left out."""
    skip = set()
    for child in element.iter():
        if child is element or not isinstance(child.tag, str) or child.tag not in ("ul", "ol", "div", "table", "dl"):
            continue
        text = _squash("".join(child.itertext()))
        if not text:
            continue
        links = _squash("".join(t for a in child.iter("a") for t in a.itertext()))
        if len(links) / len(text) > 0.6 and len(text) > 10:
            skip.add(child)
    return frozenset(skip)


def _body_text(element: _Element, title: str | None) -> str:
    text = element_text(element, skip=_link_lists(element))
    # Pictures' alt text often repeats the headline; a line that is only the headline is not body.
    headline = _squash(title or "\0")
    lines = [
        line
        for line in text.split("\n")
        if line.strip() and not _BOILERPLATE.match(line.strip()) and _squash(line) != headline
    ]
    return tidy_text("\n".join(lines))


# --- publish time -------------------------------------------------------------------------------
def _read_time(text: str, now: datetime) -> datetime | None:
    try:
        return parse_site_time(text.strip(), now=now)
    except SiteTimeError:
        return None


def _meta_time(root: _Element, metas: dict[str, str], now: datetime) -> tuple[datetime, str] | None:
    for key in _META_TIME_KEYS:
        value = metas.get(key)
        if value and (parsed := _read_time(value, now)) is not None:
            return parsed, value
    for element in root.xpath("//time[@datetime] | //*[@itemprop='datePublished'][@content or @datetime]"):
        value = element.get("datetime") or element.get("content") or ""
        if (parsed := _read_time(value, now)) is not None:
            return parsed, value
    return None


def _script_time(scripts: list[str], now: datetime) -> tuple[datetime, str] | None:
    for script in scripts:
        if "ld+json" in script[:0]:
            continue
        for match in _SCRIPT_TIME.finditer(script):
            if (parsed := _read_time(match.group(1), now)) is not None:
                return parsed, match.group(1)
    return None


def _json_ld_time(root: _Element, now: datetime) -> tuple[datetime, str] | None:
    for script in root.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(script)
        except (json.JSONDecodeError, ValueError):
            continue
        for node in data if isinstance(data, list) else [data]:
            if not isinstance(node, dict):
                continue
            for key in ("datePublished", "pubDate", "dateCreated"):
                value = node.get(key)
                if isinstance(value, str) and (parsed := _read_time(value, now)) is not None:
                    return parsed, value
    return None


def _text_nodes_after(root: _Element, start: _Element | None, stop: _Element | None) -> Iterator[str]:
    """Visible text in document order from `start` (the title) up to `stop` (the body)."""
    started = start is None
    for element in root.iter():
        if element is stop:
            return
        if element is start:
            started = True
        if not started or not isinstance(element.tag, str):
            continue
        if element.text and element.text.strip():
            yield element.text
        if element.tail and element.tail.strip() and started:
            yield element.tail


def _visible_time(
    root: _Element, title_element: _Element | None, body: _Element | None, now: datetime
) -> tuple[datetime, str] | None:
    def first_in(texts: Iterator[str]) -> tuple[datetime, str] | None:
        for text in texts:
            for match in [*_VISIBLE_TIME.finditer(text), *_RELATIVE_TIME.finditer(text)]:
                raw = match.group(0)
                if _UPDATED.search(text[max(0, match.start() - 8) : match.start()]):
                    continue  # "最后更新: ..." is when it was edited, not published
                if (parsed := _read_time(raw, now)) is not None:
                    return parsed, raw
        return None

    return first_in(_text_nodes_after(root, title_element, body))


def _any_visible_time(root: _Element, now: datetime) -> tuple[datetime, str] | None:
    for text in _text_nodes_after(root, None, None):
        for match in _VISIBLE_TIME.finditer(text):
            updated = _UPDATED.search(text[max(0, match.start() - 8) : match.start()])
            if not updated and (parsed := _read_time(match.group(0), now)) is not None:
                return parsed, match.group(0)
    return None


def _title_element(root: _Element, title: str | None) -> _Element | None:
    if not title:
        return None
    squashed = _squash(title)
    for heading in root.xpath("//body//h1 | //body//h2 | //body//h3"):
        if _squash(" ".join(heading.itertext())) == squashed:
            return heading
    return None


# --- author -------------------------------------------------------------------------------------
def _region_text(root: _Element, title_element: _Element | None, body: _Element | None) -> tuple[str, str]:
    """Where an author is named: the headline, byline and body; then what follows the body closely
    (an editor line). Related-news headlines elsewhere on the page ("记者:...") are left out."""
    order = [element for element in root.iter() if isinstance(element.tag, str)]
    index = {element: position for position, element in enumerate(order)}
    start = index.get(title_element, index.get(body, 0)) if title_element is not None or body is not None else 0
    body_end = (
        max((index[e] for e in body.iter() if e in index), default=len(order)) if body is not None else len(order)
    )
    main: list[str] = []
    tail: list[str] = []
    for position in range(start, len(order)):
        element = order[position]
        for piece in (element.text, element.tail):
            if piece and piece.strip():
                (main if position <= body_end else tail).append(tidy_text(piece))
        if sum(len(piece) for piece in tail) > _AFTER_BODY_CHARS:
            break
    return "\n".join(main), "\n".join(tail)


def _author(metas: dict[str, str], regions: tuple[str, str]) -> str | None:
    for text in regions:
        for pattern in _AUTHOR_PATTERNS:
            for match in pattern.finditer(text):
                name = re.split(r"[_\s]", match.group(1).strip())[0]
                if name and name.lower() not in _NOT_NAMES and not name.startswith(("来源", "发布")):
                    return name
    meta_author = metas.get("author") or metas.get("article:author")
    if meta_author and 1 < len(meta_author) <= 30 and not re.search(r"@|email|http|,", meta_author, re.I):
        return tidy_text(meta_author)
    return None


# --- public -------------------------------------------------------------------------------------
def extract_article(html: str, *, now: datetime) -> Article:
    """Title, author, publish time (aware UTC, zone-less times read in Asia/Shanghai) and body text.

    `now` is when the page was served, for relative times (`3 小时前`).
    """
    root = _parse(html)
    if root is None:
        return Article(title=None, author=None, published_at=None, text="")
    metas = _metas(root)
    scripts = [script.text or "" for script in root.iter("script")]
    script_time = _script_time(scripts, now)
    json_ld_time = _json_ld_time(root, now)
    for element in list(root.iter(*_DROP_TAGS)):
        parent = element.getparent()
        if parent is not None:
            # Keep the tail: it is the text after the script, not part of it.
            if element.tail:
                previous = element.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + element.tail
                else:
                    parent.text = (parent.text or "") + element.tail
            parent.remove(element)
    title = _title(root, metas)
    body = _body_element(root)
    text = _body_text(body, title) if body is not None else ""
    title_element = _title_element(root, title)
    # The byline between headline and body is what readers see as the publish time; structured data
    # comes next (some sites fill JSON-LD's pubDate with the last update), then anything visible.
    found = (
        _meta_time(root, metas, now)
        or _visible_time(root, title_element, body, now)
        or json_ld_time
        or script_time
        or _any_visible_time(root, now)
    )
    return Article(
        title=title,
        author=_author(metas, _region_text(root, title_element, body)),
        published_at=found[0] if found else None,
        text=text,
        published_text=found[1] if found else None,
    )
