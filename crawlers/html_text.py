"""Readable text from a post's HTML fragment.

`<br>` and block ends become newlines; an emoticon `<img>` becomes its `alt` text (`[偷笑]` carries
sentiment the NLP stage needs); scripts, styles and edit notices are dropped.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html
from lxml.etree import _Element

_BLOCK_TAGS = frozenset({"p", "div", "li", "tr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})
# Discuz prints "本帖最后由 X 于 ... 编辑" in <i class="pstatus">: an edit notice, not the author's words.
_SKIP_CLASSES = frozenset({"pstatus", "jammer"})
_SPACES = re.compile(r"[ \t\r\f\v\xa0\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Characters XML (and so lxml) refuses; real feeds and pages carry stray ones (a pasted ^H, a NUL).
_NOT_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _skipped(element: _Element) -> bool:
    if not isinstance(element.tag, str):  # comments, processing instructions
        return True
    if element.tag.lower() in _SKIP_TAGS:
        return True
    classes = set((element.get("class") or "").split())
    return bool(classes & _SKIP_CLASSES) or element.get("style", "").replace(" ", "").lower() == "display:none"


def _source_text(text: str | None) -> str:
    # A newline in HTML source is only whitespace; line breaks come from <br> and block elements.
    return text.replace("\r", " ").replace("\n", " ") if text else ""


def _block_break(out: list[str]) -> None:
    for piece in reversed(out):
        if piece.strip(" "):
            if not piece.endswith("\n"):
                out.append("\n")
            return


def _walk(element: _Element, out: list[str], skip: frozenset[_Element]) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if element not in skip and not _skipped(element):
        if tag == "br":
            out.append("\n")
        elif tag == "img":
            out.append((element.get("alt") or "").strip())
        else:
            if tag in _BLOCK_TAGS:
                _block_break(out)
            out.append(_source_text(element.text))
            for child in element:
                _walk(child, out, skip)
            if tag in _BLOCK_TAGS:
                _block_break(out)
    out.append(_source_text(element.tail))


def element_text(element: _Element, *, skip: frozenset[_Element] = frozenset()) -> str:
    """The readable text inside `element` (its own tail excluded), leaving out `skip` subtrees."""
    out: list[str] = [_source_text(element.text)]
    for child in element:
        _walk(child, out, skip)
    return tidy_text("".join(out))


def fragment_text(fragment: str) -> str:
    """The readable text of an HTML fragment such as a weibo's `text` field."""
    if not fragment or not fragment.strip():
        return ""
    # Wrapped by hand: lxml's create_parent assigns leading text through its API, which refuses the
    # control characters its own parser can produce from malformed input.
    root = lxml_html.fragment_fromstring(f"<div>{_NOT_XML_CHARS.sub('', fragment)}</div>")
    return element_text(root)


def tidy_text(text: str) -> str:
    """Collapse runs of spaces, trim every line, keep at most one blank line between paragraphs."""
    lines = [_SPACES.sub(" ", line).strip() for line in _NOT_XML_CHARS.sub("", text).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
