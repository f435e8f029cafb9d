"""Highlighted snippets built from a post's original text.

Crawled text is hostile: every character is HTML-escaped, and the only markup added is our own
`<mark>` around matched terms, so a snippet is safe to embed in a page as it is.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Bidi controls let a post reorder what an officer sees; they are dropped from anything shown.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def display_safe(text: str) -> str:
    """Text with invisible and direction-changing characters removed (still needs escaping)."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text))


def _term_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for term in sorted({t.lower() for t in terms if t.strip()}, key=len, reverse=True):
        start = lowered.find(term)
        while start != -1:
            end = start + len(term)
            if all(end <= s or start >= e for s, e in spans):
                spans.append((start, end))
            start = lowered.find(term, end)
    return sorted(spans)


def make_snippet(text: str, terms: list[str], *, width: int = 120) -> str:
    """An escaped window of `text` around the first matched term, terms wrapped in <mark>."""
    clean = display_safe(text).replace("\n", " ")
    spans = _term_spans(clean, terms)
    if spans:
        first = spans[0][0]
        lo = max(0, first - width // 3)
    else:
        lo = 0
    hi = min(len(clean), lo + width)
    out: list[str] = ["…" if lo > 0 else ""]
    cursor = lo
    for start, end in spans:
        if start < lo or end > hi:
            continue
        out.append(html.escape(clean[cursor:start]))
        out.append(f"<mark>{html.escape(clean[start:end])}</mark>")
        cursor = end
    out.append(html.escape(clean[cursor:hi]))
    if hi < len(clean):
        out.append("…")
    return "".join(out)
