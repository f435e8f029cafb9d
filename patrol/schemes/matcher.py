"""All active schemes compiled into one Aho-Corasick automaton plus one small predicate each.

Matching a post is one pass of the automaton over its normalised title and body, which finds every
word of every scheme at once; then only the schemes with at least one positive word found (a word
not under NOT) have their boolean structure evaluated. `parse_query` guarantees that a scheme
cannot match without a positive word, so skipping the others loses nothing.

Words match as substrings of the normalised text: Chinese has no spaces, and the segmenter cuts
the same characters differently by context (燃气泄漏 is one word in the user dictionary), so a
scheme word must be found however the post was cut. A word that starts or ends with a latin letter
or digit must not continue a longer latin word there ("vx" does not match inside "vxlan"). Words
(tokens) count only for NEAR distances.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ahocorasick

from patrol.schema import AnalysedPost
from patrol.schemes.context import MatchContext
from patrol.schemes.document import BODY, FIELD_NAMES, TITLE, MatchDocument, document_for
from patrol.schemes.query import (
    And,
    Filter,
    Near,
    Node,
    Not,
    Or,
    Query,
    QueryError,
    Term,
    parse_query,
    positive_terms,
)

log = logging.getLogger("patrol.schemes.matcher")

_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True, slots=True)
class SchemeSource:
    """One scheme to compile: a key the caller chooses (the scheme id), its query and active window."""

    key: str
    query: str | Query
    active_from: datetime | None = None
    active_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SchemeHit:
    key: str
    terms: tuple[str, ...]  # the scheme's positive words found in the post (normalised), to say why


class _Hits:
    """The automaton's findings in one post: per pattern, the start offsets in title and body."""

    __slots__ = ("any", "body", "doc", "title")

    def __init__(self, doc: MatchDocument, title: dict[int, list[int]], body: dict[int, list[int]]) -> None:
        self.doc = doc
        self.title = title
        self.body = body
        self.any: set[int] = title.keys() | body.keys()

    def in_field(self, which: int) -> dict[int, list[int]]:
        return self.title if which == TITLE else self.body


Predicate = Callable[[_Hits], bool]


def word_span(words: list[int], start: int, length: int) -> tuple[int, int] | None:
    """The first and last word a match at `start` covers, or None if it covers no word."""
    first = last = -1
    for index in range(start, start + length):
        word = words[index]
        if word >= 0:
            if first < 0:
                first = word
            last = word
    return (first, last) if first >= 0 else None


def words_between(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Words strictly between two spans of words; 0 when they touch or overlap."""
    if a[1] < b[0]:
        return b[0] - a[1] - 1
    if b[1] < a[0]:
        return a[0] - b[1] - 1
    return 0


@dataclass(frozen=True, slots=True)
class _CompiledScheme:
    key: str
    predicate: Predicate
    positive: tuple[int, ...]
    active_from: datetime | None
    active_until: datetime | None
    windowed: bool

    def active_for(self, published_at: datetime | None) -> bool:
        if published_at is None:
            return True
        if self.active_from is not None and published_at < self.active_from:
            return False
        return self.active_until is None or published_at < self.active_until


class SchemeMatcher:
    """Compiled matcher over many schemes; read-only after construction, so threads may share it.

    A scheme whose query no longer compiles (say the gazetteer lost a place it filters on) is left
    out and reported in `errors`, so one bad scheme never stops the pipeline.
    """

    def __init__(self, schemes: Iterable[SchemeSource], context: MatchContext) -> None:
        self.context = context
        self.errors: dict[str, QueryError] = {}
        self._pattern_ids: dict[str, int] = {}
        self._texts: list[str] = []
        self._lengths: list[int] = []
        self._left_bounded: list[bool] = []
        self._right_bounded: list[bool] = []
        triggers: dict[int, list[int]] = {}
        compiled: list[_CompiledScheme] = []
        for source in sorted(schemes, key=lambda s: s.key):
            try:
                scheme = self._compile_scheme(source)
            except QueryError as exc:
                self.errors[source.key] = exc
                log.error("scheme left out: its query does not compile", extra={"scheme": source.key})
                continue
            index = len(compiled)
            compiled.append(scheme)
            for pattern in scheme.positive:
                triggers.setdefault(pattern, []).append(index)
        self._schemes: tuple[_CompiledScheme, ...] = tuple(compiled)
        self._triggers: dict[int, tuple[int, ...]] = {p: tuple(dict.fromkeys(s)) for p, s in triggers.items()}
        self._automaton: Any = None
        if self._texts:
            automaton = ahocorasick.Automaton()
            for text, pattern in self._pattern_ids.items():
                automaton.add_word(text, pattern)
            automaton.make_automaton()
            self._automaton = automaton

    @property
    def scheme_count(self) -> int:
        return len(self._schemes)

    @property
    def pattern_count(self) -> int:
        return len(self._texts)

    @classmethod
    def check(cls, query: str | Query, context: MatchContext) -> Query:
        """Compile one query alone (syntax, words, filter values); raise `QueryError` on a problem."""
        parsed = query if isinstance(query, Query) else parse_query(query)
        cls((), context)._compile_scheme(SchemeSource("check", parsed))
        return parsed

    # -- matching -------------------------------------------------------------------------------

    def match_post(self, item: AnalysedPost) -> list[SchemeHit]:
        return self.match(document_for(item, self.context))

    def match(self, doc: MatchDocument) -> list[SchemeHit]:
        if self._automaton is None:
            return []
        hits = _Hits(doc, self._scan(doc.title), self._scan(doc.body))
        if not hits.any:
            return []
        candidates: set[int] = set()
        for pattern in hits.any:
            triggered = self._triggers.get(pattern)
            if triggered:
                candidates.update(triggered)
        found: list[SchemeHit] = []
        for index in sorted(candidates):
            scheme = self._schemes[index]
            if scheme.windowed and not scheme.active_for(doc.published_at):
                continue
            if scheme.predicate(hits):
                terms = tuple(self._texts[p] for p in scheme.positive if p in hits.any)
                found.append(SchemeHit(scheme.key, terms))
        return found

    def _scan(self, text: str) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        if not text:
            return found
        last = len(text) - 1
        lengths, left, right = self._lengths, self._left_bounded, self._right_bounded
        for end, pattern in self._automaton.iter(text):
            start = end - lengths[pattern] + 1
            if left[pattern] and start > 0 and text[start - 1] in _LATIN:
                continue
            if right[pattern] and end < last and text[end + 1] in _LATIN:
                continue
            starts = found.get(pattern)
            if starts is None:
                found[pattern] = [start]
            else:
                starts.append(start)
        return found

    # -- compiling ------------------------------------------------------------------------------

    def _pattern(self, text: str) -> int:
        pattern = self._pattern_ids.get(text)
        if pattern is None:
            pattern = len(self._texts)
            self._pattern_ids[text] = pattern
            self._texts.append(text)
            self._lengths.append(len(text))
            self._left_bounded.append(text[0] in _LATIN)
            self._right_bounded.append(text[-1] in _LATIN)
        return pattern

    def _compile_scheme(self, source: SchemeSource) -> _CompiledScheme:
        query = source.query if isinstance(source.query, Query) else parse_query(source.query)
        predicate = self._compile(query.root, query.text)
        positive = tuple(
            dict.fromkeys(
                self._pattern(self.context.term_text(t.text, query.text, t.position))
                for t in positive_terms(query.root)
            )
        )
        windowed = source.active_from is not None or source.active_until is not None
        return _CompiledScheme(source.key, predicate, positive, source.active_from, source.active_until, windowed)

    def _term(self, term: Term, query: str) -> tuple[int, str]:
        return self._pattern(self.context.term_text(term.text, query, term.position)), term.scope

    def _compile(self, node: Node, query: str) -> Predicate:
        if isinstance(node, Term):
            pattern, scope = self._term(node, query)
            if scope == "title":
                return lambda hits: pattern in hits.title
            if scope == "body":
                return lambda hits: pattern in hits.body
            return lambda hits: pattern in hits.any
        if isinstance(node, Near):
            left = [self._term(t, query) for t in node.left]
            right = [self._term(t, query) for t in node.right]
            return _near_predicate(left, right, node.distance, self._lengths)
        if isinstance(node, Filter):
            return _filter_predicate(node.name, self.context.filter_values(node, query))
        if isinstance(node, Not):
            inner = self._compile(node.operand, query)
            return lambda hits: not inner(hits)
        # Plain words (no scope) of an AND or OR are tested together as one set operation.
        words = frozenset(self._term(o, query)[0] for o in node.operands if isinstance(o, Term) and o.scope == "any")
        rest = tuple(self._compile(o, query) for o in node.operands if not (isinstance(o, Term) and o.scope == "any"))
        if isinstance(node, And):
            return _all_of(words, rest)
        assert isinstance(node, Or)
        return _any_of(words, rest)


def _all_of(words: frozenset[int], rest: tuple[Predicate, ...]) -> Predicate:
    def all_of(hits: _Hits) -> bool:
        if words and not words <= hits.any:
            return False
        # A plain loop: all() over a generator costs a frame per call on this hot path.
        for predicate in rest:  # noqa: SIM110
            if not predicate(hits):
                return False
        return True

    return all_of


def _any_of(words: frozenset[int], rest: tuple[Predicate, ...]) -> Predicate:
    def any_of(hits: _Hits) -> bool:
        if words and not words.isdisjoint(hits.any):
            return True
        for predicate in rest:  # noqa: SIM110
            if predicate(hits):
                return True
        return False

    return any_of


def _near_predicate(
    left: Sequence[tuple[int, str]], right: Sequence[tuple[int, str]], distance: int, lengths: list[int]
) -> Predicate:
    def spans(hits: _Hits, which: int, terms: Sequence[tuple[int, str]]) -> list[tuple[int, int]]:
        in_field = hits.in_field(which)
        name = FIELD_NAMES[which]
        found: list[tuple[int, int]] = []
        words: list[int] | None = None
        for pattern, scope in terms:
            if scope not in ("any", name):
                continue
            for start in in_field.get(pattern, ()):
                if words is None:
                    words = hits.doc.word_index(which)
                span = word_span(words, start, lengths[pattern])
                if span is not None:
                    found.append(span)
        return found

    left_words = frozenset(pattern for pattern, _ in left)
    right_words = frozenset(pattern for pattern, _ in right)

    def near(hits: _Hits) -> bool:
        if left_words.isdisjoint(hits.any) or right_words.isdisjoint(hits.any):
            return False
        for which in (TITLE, BODY):
            lefts = spans(hits, which, left)
            if not lefts:
                continue
            rights = spans(hits, which, right)
            if any(words_between(a, b) <= distance for a in lefts for b in rights):
                return True
        return False

    return near


def _filter_predicate(name: str, values: frozenset[str]) -> Predicate:
    if name == "source":
        exact = frozenset(v for v in values if not v.endswith("*"))
        prefixes = tuple(v[:-1] for v in values if v.endswith("*"))
        if prefixes:
            return lambda hits: hits.doc.source_id in exact or hits.doc.source_id.startswith(prefixes)
        return lambda hits: hits.doc.source_id in exact
    if name == "category":
        return lambda hits: not values.isdisjoint(hits.doc.categories)
    if name == "sentiment":
        return lambda hits: hits.doc.sentiment in values
    if name == "author_kind":
        return lambda hits: hits.doc.author_kind in values
    if name == "place":
        return lambda hits: not values.isdisjoint(hits.doc.places)
    if name == "jurisdiction":
        return lambda hits: hits.doc.jurisdiction in values
    raise ValueError(f"no predicate for filter {name}:")
