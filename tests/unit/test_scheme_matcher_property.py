"""The compiled matcher against a brute-force reference, on generated posts and queries.

The reference evaluates each query's tree directly: it finds a word by trying every offset of the
text, and a NEAR by comparing every pair of occurrences. It shares only the definitions (normalised
query words, the per-character word numbers, the filter values) with the matcher, not its
machinery (one Aho-Corasick pass, triggers on positive words, compiled predicates).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrol.schema import RISK_CATEGORIES
from patrol.schemes.context import MatchContext
from patrol.schemes.document import BODY, TITLE, MatchDocument
from patrol.schemes.matcher import SchemeMatcher, SchemeSource
from patrol.schemes.query import And, Filter, Near, Node, Not, Or, QueryError, Term, TextScope, parse_query, render

CONTEXT = MatchContext()
LATIN = set("abcdefghijklmnopqrstuvwxyz0123456789")

# Words that overlap, nest, need normalising (枪 支, 槍, V信, GAS) or sit next to latin letters.
VOCABULARY = [
    "燃气",
    "泄漏",
    "燃气泄漏",
    "煤气",
    "演练",
    "香坊",
    "和平路",
    "味道",
    "闻到",
    "枪 支",
    "槍支",
    "枪",
    "V信",
    "微信",
    "gas",
    "GAS",
    "leak",
    "gasleak",
    "a1",
    "，",
    "。",
    " ",
    "的",
    "了",
    "有人",
]
QUERY_WORDS = [
    "燃气",
    "泄漏",
    "燃气泄漏",
    "煤气",
    "演练",
    "香坊",
    "味道",
    "枪支",
    "枪",
    "vx",
    "gas",
    "leak",
    "a1",
    "了",
]
FILTERS = {
    "source": ["weibo", "bbs-*", "bbs-a"],
    "category": ["public_hazard", "fraud", "self_harm"],
    "sentiment": ["negative", "neutral", "positive"],
    "place": ["香坊", "和平路", "南岗区"],
    "jurisdiction": ["xf-branch", "xf-heping", "ng-branch"],
    "author_kind": ["media", "public"],
}
PLACES = ["香坊区", "和平路街道", "南岗区", "学府路", "幸福家园小区"]
UNITS = ["xf-branch", "xf-heping", "xf-xiangfang", "ng-branch", "ng-xuefu", None]
BASE = datetime(2026, 11, 27, 12, tzinfo=UTC)


# -- the reference ------------------------------------------------------------------------------


def occurrences(text: str, word: str) -> list[int]:
    found = []
    for start in range(len(text) - len(word) + 1):
        if text[start : start + len(word)] != word:
            continue
        if word[0] in LATIN and start > 0 and text[start - 1] in LATIN:
            continue
        end = start + len(word)
        if word[-1] in LATIN and end < len(text) and text[end] in LATIN:
            continue
        found.append(start)
    return found


def fields_of(scope: str) -> list[int]:
    return {"any": [TITLE, BODY], "title": [TITLE], "body": [BODY]}[scope]


def term_found(term: Term, doc: MatchDocument) -> bool:
    word = CONTEXT.term_text(term.text, "", 0)
    return any(occurrences(doc.text(field), word) for field in fields_of(term.scope))


def word_set(doc: MatchDocument, field: int, start: int, length: int) -> set[int]:
    return {w for w in doc.word_index(field)[start : start + length] if w >= 0}


def near_found(node: Near, doc: MatchDocument) -> bool:
    for field in (TITLE, BODY):
        text = doc.text(field)
        lefts: list[set[int]] = []
        rights: list[set[int]] = []
        for terms, into in ((node.left, lefts), (node.right, rights)):
            for term in terms:
                if field not in fields_of(term.scope):
                    continue
                word = CONTEXT.term_text(term.text, "", 0)
                for start in occurrences(text, word):
                    words = word_set(doc, field, start, len(word))
                    if words:
                        into.append(words)
        for a in lefts:
            for b in rights:
                if a & b:
                    return True
                gap = min(b) - max(a) - 1 if max(a) < min(b) else min(a) - max(b) - 1
                if gap <= node.distance:
                    return True
    return False


def filter_found(node: Filter, doc: MatchDocument) -> bool:
    values = CONTEXT.filter_values(node, "")
    if node.name == "source":
        return any(doc.source_id.startswith(v[:-1]) if v.endswith("*") else doc.source_id == v for v in values)
    if node.name == "category":
        return bool(values & doc.categories)
    if node.name == "sentiment":
        return doc.sentiment in values
    if node.name == "author_kind":
        return doc.author_kind in values
    if node.name == "place":
        return bool(values & doc.places)
    return doc.jurisdiction in values


def reference(node: Node, doc: MatchDocument) -> bool:
    if isinstance(node, Term):
        return term_found(node, doc)
    if isinstance(node, Near):
        return near_found(node, doc)
    if isinstance(node, Filter):
        return filter_found(node, doc)
    if isinstance(node, Not):
        return not reference(node.operand, doc)
    if isinstance(node, And):
        return all(reference(o, doc) for o in node.operands)
    assert isinstance(node, Or)
    return any(reference(o, doc) for o in node.operands)


# -- generators ---------------------------------------------------------------------------------


@st.composite
def documents(draw: st.DrawFn) -> MatchDocument:
    body_text = "".join(draw(st.lists(st.sampled_from(VOCABULARY), max_size=14)))
    title_text = "".join(draw(st.lists(st.sampled_from(VOCABULARY), max_size=5)))
    body = CONTEXT.normalize(body_text)
    return MatchDocument(
        post_id="p",
        title=CONTEXT.normalize(title_text),
        body=body,
        source_id=draw(st.sampled_from(["weibo", "bbs-a", "bbs-b", "news"])),
        author_kind=draw(st.sampled_from(["media", "public"])),
        categories=frozenset(draw(st.sets(st.sampled_from(RISK_CATEGORIES), max_size=2))),
        sentiment=draw(st.sampled_from(["negative", "neutral", "positive"])),
        places=frozenset(draw(st.sets(st.sampled_from(PLACES), max_size=2))),
        jurisdiction=draw(st.sampled_from(UNITS)),
        published_at=BASE + timedelta(hours=draw(st.integers(-48, 48))),
        body_tokens=CONTEXT.cut(body),
        cut=CONTEXT.cut,
    )


@st.composite
def terms(draw: st.DrawFn) -> Term:
    scopes: list[TextScope] = ["any", "any", "title", "body"]
    return Term(draw(st.sampled_from(QUERY_WORDS)), scope=draw(st.sampled_from(scopes)))


@st.composite
def queries(draw: st.DrawFn, depth: int = 3) -> Node:
    kinds = ["term", "term", "near", "filter"] + (["and", "or", "not"] if depth > 0 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "term":
        return draw(terms())
    if kind == "near":
        left = tuple(draw(st.lists(terms(), min_size=1, max_size=2)))
        right = tuple(draw(st.lists(terms(), min_size=1, max_size=2)))
        return Near(left, right, draw(st.integers(0, 4)))
    if kind == "filter":
        name = draw(st.sampled_from(sorted(FILTERS)))
        return Filter(name, draw(st.sampled_from(FILTERS[name])))
    if kind == "not":
        return Not(draw(queries(depth - 1)))
    operands = tuple(draw(st.lists(queries(depth - 1), min_size=2, max_size=3)))
    return And(operands) if kind == "and" else Or(operands)


@st.composite
def schemes(draw: st.DrawFn) -> list[tuple[SchemeSource, Node]]:
    found = []
    for index, node in enumerate(draw(st.lists(queries(), min_size=1, max_size=6))):
        try:
            parsed = parse_query(render(node))  # through the text form, as schemes are stored
        except QueryError:
            continue  # a query that could match without a word: refused at save time
        window = draw(st.sampled_from([(None, None), (BASE - timedelta(hours=12), BASE + timedelta(hours=12))]))
        found.append((SchemeSource(f"s{index}", parsed, *window), parsed.root))
    return found


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemes(), st.lists(documents(), min_size=1, max_size=5))
def test_compiled_matcher_agrees_with_brute_force(
    compiled: list[tuple[SchemeSource, Node]], docs: list[MatchDocument]
) -> None:
    matcher = SchemeMatcher([source for source, _ in compiled], CONTEXT)
    assert not matcher.errors
    for doc in docs:
        assert doc.published_at is not None
        expected = []
        for source, root in compiled:
            in_window = (source.active_from is None or source.active_from <= doc.published_at) and (
                source.active_until is None or doc.published_at < source.active_until
            )
            if in_window and reference(root, doc):
                expected.append(source.key)
        assert [hit.key for hit in matcher.match(doc)] == sorted(expected)


@settings(max_examples=100, deadline=None)
@given(schemes(), documents())
def test_every_match_names_a_positive_word_found_in_the_post(
    compiled: list[tuple[SchemeSource, Node]], doc: MatchDocument
) -> None:
    matcher = SchemeMatcher([source for source, _ in compiled], CONTEXT)
    for hit in matcher.match(doc):
        assert hit.terms
        for word in hit.terms:
            assert occurrences(doc.title, word) or occurrences(doc.body, word)
