"""Crawled text made inert for a page: escaped, stripped of direction tricks, links only http(s).

Every piece of crawled content reaches a template through one of these functions or through
Jinja2's autoescaping; nothing crawled is ever marked safe as it is. Evidence spans are cut from
the original text first and each piece is cleaned and escaped on its own, so removing an invisible
character never shifts a highlight.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup

# Bidi embeddings, overrides and isolates, marks (LRM, RLM, ALM), zero-width characters and the BOM:
# they let a post reorder or hide what an officer reads, and are dropped from anything shown.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_MARK_TAG = re.compile(r"(</?mark>)")
LINK_REL = "noopener noreferrer nofollow"


def clean_text(text: str | None) -> str:
    """Text without invisible or direction-changing characters (still to be escaped)."""
    if not text:
        return ""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text))


def inert(text: str | None) -> Markup:
    """Crawled text as escaped markup."""
    return Markup(html.escape(clean_text(text), quote=True))


def safe_href(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without credentials or control characters, else None."""
    if not url or len(url) > 2048:
        return None
    candidate = url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in candidate) or _INVISIBLE.search(candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return candidate


def snippet_markup(snippet_html: str) -> Markup:
    """A store snippet (escaped text plus `<mark>`) re-escaped so that only `<mark>` survives."""
    out: list[str] = []
    depth = 0
    for piece in _MARK_TAG.split(snippet_html):
        if piece == "<mark>" and depth == 0:
            out.append("<mark>")
            depth = 1
        elif piece == "</mark>" and depth == 1:
            out.append("</mark>")
            depth = 0
        elif piece not in ("<mark>", "</mark>"):
            out.append(html.escape(clean_text(html.unescape(piece)), quote=True))
    if depth:
        out.append("</mark>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str
    category: str


def merge_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Spans clamped to the text, sorted, overlapping ones merged (labels joined)."""
    clamped = sorted(
        (Span(max(0, s.start), min(length, s.end), s.label, s.category) for s in spans if s.end > s.start),
        key=lambda s: (s.start, -s.end),
    )
    merged: list[Span] = []
    for span in clamped:
        if span.end <= span.start:
            continue
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            labels = last.label if span.label in last.label.split("; ") else f"{last.label}; {span.label}"
            merged[-1] = Span(last.start, max(last.end, span.end), labels, last.category)
        else:
            merged.append(span)
    return merged


def highlight(text: str | None, spans: Sequence[Span]) -> Markup:
    """The original text, escaped, with each evidence span wrapped in `<mark>`."""
    text = text or ""
    out: list[str] = []
    cursor = 0
    for span in merge_spans(spans, len(text)):
        out.append(html.escape(clean_text(text[cursor : span.start]), quote=True))
        out.append(
            f'<mark class="evidence cat-{html.escape(span.category, quote=True)}"'
            f' title="{html.escape(clean_text(span.label), quote=True)}">'
            f"{html.escape(clean_text(text[span.start : span.end]), quote=True)}</mark>"
        )
        cursor = span.end
    out.append(html.escape(clean_text(text[cursor:]), quote=True))
    return Markup("".join(out))


def external_link(url: str | None, label: str | None = None) -> Markup:
    """An outbound link that cannot run script or leak the console's address; plain text if unsafe."""
    shown = inert(label if label is not None else url)
    href = safe_href(url)
    if href is None:
        return Markup('<span class="unsafe-link" title="not an http(s) link">') + shown + Markup("</span>")
    return (
        Markup(
            f'<a href="{html.escape(href, quote=True)}" rel="{LINK_REL}" target="_blank"'
            ' referrerpolicy="no-referrer">'
        )
        + shown
        + Markup("</a>")
    )
