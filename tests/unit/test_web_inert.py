"""Crawled text made inert: escaping, evidence highlights on original offsets, links, snippets."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from patrol.web.inert import (
    Span,
    clean_text,
    external_link,
    highlight,
    inert,
    merge_spans,
    safe_href,
    snippet_markup,
)

MARK = re.compile(r'<mark class="evidence cat-[a-z_]+" title="[^"<>]*">|</mark>')


def visible_text(markup: str) -> str:
    return html.unescape(MARK.sub("", markup))


def test_highlight_marks_the_span_of_the_original_text_and_escapes_the_rest() -> None:
    text = "<script>alert(1)</script>出售枪支\u202e，联系"
    start = text.index("出售枪支")
    out = str(highlight(text, [Span(start, start + 4, "weapons.sale: 出售枪支", "weapons")]))
    assert out == (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
        '<mark class="evidence cat-weapons" title="weapons.sale: 出售枪支">出售枪支</mark>，联系'
    )


def test_invisible_characters_before_a_span_do_not_shift_it() -> None:
    text = "\u202e\u200b\u2066abc危险def"
    start = text.index("危险")
    out = str(highlight(text, [Span(start, start + 2, "r", "drugs")]))
    assert ">危险</mark>" in out and visible_text(out) == "abc危险def"


def test_overlapping_and_out_of_range_spans_are_merged_and_clamped() -> None:
    spans = merge_spans(
        [
            Span(2, 6, "a", "fraud"),
            Span(4, 9, "b", "fraud"),
            Span(20, 99, "c", "fraud"),
            Span(5, 5, "empty", "fraud"),
        ],
        10,
    )
    assert [(s.start, s.end, s.label) for s in spans] == [(2, 9, "a; b")]


@given(st.text(max_size=60), st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=6))
def test_highlight_never_lets_markup_through(text: str, raw_spans: list[tuple[int, int]]) -> None:
    out = str(highlight(text, [Span(a, b, "<rule>", "fraud") for a, b in raw_spans]))
    assert "<" not in MARK.sub("", out), "only our own <mark> tags"
    assert visible_text(out) == clean_text(text)


def test_links_are_http_only_and_do_not_leak_the_console() -> None:
    assert safe_href("https://bbs.example.cn/t/1?x=1") == "https://bbs.example.cn/t/1?x=1"
    for bad in (
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<b>",
        "vbscript:x",
        "//evil.test",
        "http://user:pw@evil.test/",
        "https://evil.test/\u202egnp",
        "http://a\nb.test",
        "ftp://x.test",
        "",
    ):
        assert safe_href(bad) is None, bad
    link = str(external_link("https://bbs.example.cn/t/1", '<b onclick="x">帖子</b>'))
    assert 'rel="noopener noreferrer nofollow"' in link and 'target="_blank"' in link
    assert "&lt;b onclick=&#34;x&#34;&gt;帖子&lt;/b&gt;" in link.replace("&quot;", "&#34;")
    assert "<a" not in str(external_link("javascript:alert(1)"))


def test_snippets_keep_only_our_marks() -> None:
    hostile = "&lt;b&gt;x <mark>燃气</mark> <img src=x onerror=alert(1)> </mark><mark><mark>泄漏"
    out = str(snippet_markup(hostile))
    assert out == "&lt;b&gt;x <mark>燃气</mark> &lt;img src=x onerror=alert(1)&gt; <mark>泄漏</mark>"


def test_inert_escapes_quotes_for_attributes_too() -> None:
    assert str(inert('"><svg onload=x>')) == "&#34;&gt;&lt;svg onload=x&gt;".replace("&#34;", "&quot;")
