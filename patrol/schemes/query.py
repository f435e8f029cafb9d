"""The query language of monitoring schemes: lexer, parser and syntax tree.

Precedence, tightest first: NEAR/n, then NOT, then AND (also written by putting two terms side by
side), then OR. So `燃气 泄漏 OR 煤气 NOT 演练` reads `(燃气 AND 泄漏) OR (煤气 AND (NOT 演练))`.

    query     := or_expr END
    or_expr   := and_expr ("OR" and_expr)*
    and_expr  := not_expr (["AND"] not_expr)*
    not_expr  := "NOT" not_expr | near_expr
    near_expr := primary ["NEAR/" n primary]
    primary   := "(" or_expr ")" | field ":" primary | word | "quoted phrase"

Operators are upper-case (a lower-case `and` is a word). Full-width brackets, quotes and colons
(（）“”：) are accepted because Chinese input methods type them. The parser only checks syntax;
`patrol.schemes.matcher` normalises the words and checks filter values against the gazetteer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

TextScope = Literal["any", "title", "body"]
TEXT_FIELDS: tuple[str, ...] = ("title", "body")
FILTER_FIELDS: tuple[str, ...] = ("source", "category", "sentiment", "place", "jurisdiction", "author_kind")
FIELDS: tuple[str, ...] = TEXT_FIELDS + FILTER_FIELDS
MAX_NEAR_DISTANCE = 100

_OPEN_PARENS = "(（"
_CLOSE_PARENS = ")）"
_QUOTES = '"“”'
_COLONS = ":："
_WORD_STOP = set(_OPEN_PARENS + _CLOSE_PARENS + _QUOTES)
_FIELD_PREFIX = re.compile(r"^([A-Za-z_]+)[:：]")
_NEAR = re.compile(r"^NEAR(/.*)?$")
_NEAR_DISTANCE = re.compile(r"^NEAR/(\d{1,4})$")
_EXPECT_OPERAND = 'a word, a "phrase", "(" or a field such as title:'


class QueryError(ValueError):
    """A malformed query; the message names the column, shows a caret under it and says what was expected."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))
        super().__init__(self.__str__())

    @property
    def column(self) -> int:
        return self.position + 1

    def __str__(self) -> str:
        shown = "".join(" " if ch in "\r\n\t" else ch for ch in self.query)
        caret = " " * _display_width(shown[: self.position]) + "^"
        return f"{self.message} (column {self.column})\n  {shown}\n  {caret}"


def _display_width(text: str) -> int:
    # Chinese characters take two terminal cells; without this the caret lands in the wrong place.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# -- syntax tree --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a quoted phrase; `scope` limits it to the title or the body."""

    text: str
    scope: TextScope = "any"
    phrase: bool = field(default=False, compare=False)
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    """`left NEAR/distance right`: one of `left` and one of `right` at most `distance` words apart."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    distance: int
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Filter:
    """`name:value` on a property of the post (source, category, sentiment, place, ...)."""

    name: str
    value: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False)


Node = Term | Near | Filter | Not | And | Or


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the text as written and its syntax tree."""

    text: str
    root: Node

    def terms(self) -> list[Term]:
        return list(iter_terms(self.root))

    def filters(self) -> list[Filter]:
        return [node for node in walk(self.root) if isinstance(node, Filter)]

    def canonical(self) -> str:
        """The query with every grouping made explicit, e.g. for showing how it was read."""
        return render(self.root)


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Not):
        yield from walk(node.operand)
    elif isinstance(node, And | Or):
        for operand in node.operands:
            yield from walk(operand)


def iter_terms(node: Node) -> Iterator[Term]:
    for sub in walk(node):
        if isinstance(sub, Term):
            yield sub
        elif isinstance(sub, Near):
            yield from sub.left
            yield from sub.right


def positive_terms(node: Node, negated: bool = False) -> Iterator[Term]:
    """The terms not under a NOT: the only ones whose presence can make the query match."""
    if isinstance(node, Term):
        if not negated:
            yield node
    elif isinstance(node, Near):
        if not negated:
            yield from node.left
            yield from node.right
    elif isinstance(node, Not):
        yield from positive_terms(node.operand, not negated)
    elif isinstance(node, And | Or):
        for operand in node.operands:
            yield from positive_terms(operand, negated)


def needs_a_term(node: Node) -> bool:
    """True when no post can match unless one of the node's positive terms occurs in it."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, And):
        return any(needs_a_term(operand) for operand in node.operands)
    if isinstance(node, Or):
        return all(needs_a_term(operand) for operand in node.operands)
    return False  # Not, Filter


def _termless_part(node: Node) -> Node:
    # The part to point at when a query could match without any word.
    if isinstance(node, Or):
        for operand in node.operands:
            if not needs_a_term(operand):
                return _termless_part(operand)
    return node


# -- rendering ----------------------------------------------------------------------------------


def _needs_quotes(text: str) -> bool:
    if not text or text in ("AND", "OR", "NOT") or _NEAR.match(text):
        return True
    return any(ch.isspace() or ch in _WORD_STOP or ch in _COLONS or ch == "\\" for ch in text)


def quote(text: str) -> str:
    if not _needs_quotes(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_term(term: Term) -> str:
    prefix = "" if term.scope == "any" else f"{term.scope}:"
    return prefix + quote(term.text)


def _render_alternatives(terms: tuple[Term, ...]) -> str:
    if len(terms) == 1:
        return _render_term(terms[0])
    return "(" + " OR ".join(_render_term(t) for t in terms) + ")"


def render(node: Node) -> str:
    """Text that parses back to the same tree (compound operands are put in brackets)."""
    if isinstance(node, Term):
        return _render_term(node)
    if isinstance(node, Near):
        return f"{_render_alternatives(node.left)} NEAR/{node.distance} {_render_alternatives(node.right)}"
    if isinstance(node, Filter):
        return f"{node.name}:{quote(node.value)}"
    if isinstance(node, Not):
        inner = render(node.operand)
        return f"NOT ({inner})" if isinstance(node.operand, And | Or) else f"NOT {inner}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(f"({render(o)})" if isinstance(o, And | Or) else render(o) for o in node.operands)


# -- lexer --------------------------------------------------------------------------------------

TokenKind = Literal["word", "phrase", "lparen", "rparen", "and", "or", "not", "near", "field", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    position: int
    distance: int = 0

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the query"
        if self.kind == "phrase":
            return f'the phrase "{self.text}"'
        if self.kind == "word":
            return f"the word '{self.text}'"
        if self.kind == "field":
            return f"the field {self.text}:"
        return self.text if self.kind in ("and", "or", "not", "near") else f'"{self.text}"'


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in _OPEN_PARENS:
            tokens.append(_Token("lparen", "(", i))
            i += 1
        elif ch in _CLOSE_PARENS:
            tokens.append(_Token("rparen", ")", i))
            i += 1
        elif ch in _QUOTES:
            text, i_next = _lex_phrase(query, i)
            tokens.append(_Token("phrase", text, i))
            i = i_next
        else:
            end = i
            while end < n and not query[end].isspace() and query[end] not in _WORD_STOP:
                end += 1
            run = query[i:end]
            field_match = _FIELD_PREFIX.match(run)
            if field_match:
                name = field_match.group(1).lower()
                if name not in FIELDS:
                    raise QueryError(
                        f"unknown field '{field_match.group(1)}:'; the fields are"
                        f" {', '.join(f + ':' for f in FIELDS)}."
                        f' To search for the text itself, put it in quotes: "{run}"',
                        query,
                        i,
                    )
                tokens.append(_Token("field", name, i))
                i += len(field_match.group(0))
                continue
            tokens.append(_word_token(run, i, query))
            i = end
    tokens.append(_Token("end", "", n))
    return tokens


def _word_token(run: str, position: int, query: str) -> _Token:
    if run == "AND":
        return _Token("and", run, position)
    if run == "OR":
        return _Token("or", run, position)
    if run == "NOT":
        return _Token("not", run, position)
    if _NEAR.match(run):
        distance = _NEAR_DISTANCE.match(run)
        if distance is None:
            raise QueryError(
                f"NEAR needs a distance in words, written NEAR/n (e.g. 燃气 NEAR/5 泄漏); found '{run}'",
                query,
                position,
            )
        value = int(distance.group(1))
        if value > MAX_NEAR_DISTANCE:
            raise QueryError(
                f"NEAR/{value} is too far apart to mean anything; use a distance from 0 to {MAX_NEAR_DISTANCE}",
                query,
                position,
            )
        return _Token("near", run, position, value)
    return _Token("word", run, position)


def _lex_phrase(query: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query):
            chars.append(query[i + 1])
            i += 2
            continue
        if ch in _QUOTES:
            return "".join(chars), i + 1
        chars.append(ch)
        i += 1
    raise QueryError('the phrase that starts here has no closing quote "', query, start)


# -- parser -------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> QueryError:
        return QueryError(message, self.query, (token or self.current).position)

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self.error(f"the query is empty: expected {_EXPECT_OPERAND}")
        node = self.or_expr()
        if self.current.kind == "rparen":
            raise self.error('unexpected ")": no "(" is open before it')
        if self.current.kind != "end":  # cannot happen: every other token starts or joins an operand
            raise self.error(f"unexpected {self.current.describe()}")
        return node

    def or_expr(self) -> Node:
        start = self.current.position
        operands = [self.and_expr()]
        while self.current.kind == "or":
            operator = self.advance()
            operands.append(self.and_expr(after=operator))
        return operands[0] if len(operands) == 1 else Or(tuple(operands), start)

    def and_expr(self, after: _Token | None = None) -> Node:
        start = self.current.position
        operands = [self.not_expr(after)]
        while True:
            if self.current.kind == "and":
                operator = self.advance()
                operands.append(self.not_expr(operator))
            elif self.current.kind in ("word", "phrase", "lparen", "field", "not"):
                operands.append(self.not_expr())
            else:
                break
        return operands[0] if len(operands) == 1 else And(tuple(operands), start)

    def not_expr(self, after: _Token | None = None) -> Node:
        if self.current.kind == "not":
            operator = self.advance()
            return Not(self.not_expr(operator), operator.position)
        return self.near_expr(after)

    def near_expr(self, after: _Token | None) -> Node:
        left = self.primary(after)
        if self.current.kind != "near":
            return left
        operator = self.advance()
        right = self.primary(operator)
        near = Near(
            self._near_operand(left, operator),
            self._near_operand(right, operator),
            operator.distance,
            _position(left),
        )
        if self.current.kind == "near":
            raise self.error(
                "NEAR cannot be chained; join two proximity conditions with AND, e.g. a NEAR/5 b AND b NEAR/5 c"
            )
        return near

    def _near_operand(self, node: Node, operator: _Token) -> tuple[Term, ...]:
        if isinstance(node, Term):
            return (node,)
        if isinstance(node, Or) and all(isinstance(o, Term) for o in node.operands):
            return tuple(o for o in node.operands if isinstance(o, Term))
        raise QueryError(
            f"{operator.text} joins two words or phrases, or a bracketed OR of them such as (燃气 OR 煤气);"
            f" found {_describe_node(node)}",
            self.query,
            _position(node),
        )

    def primary(self, after: _Token | None = None) -> Node:
        token = self.current
        context = f" after {after.text}" if after is not None and after.kind != "lparen" else ""
        if token.kind in ("word", "phrase"):
            self.advance()
            return Term(token.text, phrase=token.kind == "phrase", position=token.position)
        if token.kind == "lparen":
            self.advance()
            if self.current.kind == "rparen":
                raise self.error(f'empty brackets: expected {_EXPECT_OPERAND} inside "(" and ")"')
            inner = self.or_expr()
            if self.current.kind != "rparen":
                column = token.position + 1
                raise self.error(f'expected ")" to close the "(" at column {column}, found {self.current.describe()}')
            self.advance()
            return inner
        if token.kind == "field":
            self.advance()
            if self.current.kind not in ("word", "phrase", "lparen"):
                raise self.error(
                    f'expected a word, a "phrase" or "(" right after {token.text}:, found {self.current.describe()}'
                )
            operand = self.primary(token)
            return _apply_field(token.text, operand, self.query, token.position)
        if token.kind == "end":
            raise self.error(f"expected {_EXPECT_OPERAND}{context}, found the end of the query")
        if token.kind == "rparen":
            raise self.error(f'expected {_EXPECT_OPERAND}{context}, found ")"')
        hint = " (it goes between two terms)" if token.kind in ("and", "or", "near") else ""
        raise self.error(f"expected {_EXPECT_OPERAND}{context}, found {token.describe()}{hint}")


def _position(node: Node) -> int:
    return node.position


def _describe_node(node: Node) -> str:
    if isinstance(node, Filter):
        return f"the filter {node.name}:"
    if isinstance(node, Not):
        return "NOT"
    if isinstance(node, And):
        return "an AND group"
    if isinstance(node, Or):
        return "an OR group with more than words in it"
    if isinstance(node, Near):
        return "another NEAR"
    return "a term"


def _apply_field(name: str, node: Node, query: str, position: int) -> Node:
    if name == "title":
        return _scope(node, "title", query)
    if name == "body":
        return _scope(node, "body", query)
    return _as_filter(node, name, query, position)


def _scope_term(term: Term, scope: TextScope, query: str) -> Term:
    if term.scope not in ("any", scope):
        raise QueryError(
            f"{term.scope}: inside {scope}: cannot both hold; a term is in the title or in the body",
            query,
            term.position,
        )
    return replace(term, scope=scope)


def _scope(node: Node, scope: TextScope, query: str) -> Node:
    if isinstance(node, Term):
        return _scope_term(node, scope, query)
    if isinstance(node, Near):
        return replace(
            node,
            left=tuple(_scope_term(t, scope, query) for t in node.left),
            right=tuple(_scope_term(t, scope, query) for t in node.right),
        )
    if isinstance(node, Filter):
        raise QueryError(
            f"{scope}: applies to words and phrases; {node.name}: is a filter on the post, put it outside the brackets",
            query,
            node.position,
        )
    if isinstance(node, Not):
        return replace(node, operand=_scope(node.operand, scope, query))
    return replace(node, operands=tuple(_scope(o, scope, query) for o in node.operands))


def _as_filter(node: Node, name: str, query: str, position: int | None) -> Node:
    # `position` (the field's) is used for a single value, so errors point at `source:`, not its value.
    if isinstance(node, Term):
        if node.scope != "any":
            raise QueryError(f"{name}: takes values, not {node.scope}: terms", query, node.position)
        return Filter(name, node.text, node.position if position is None else position)
    if isinstance(node, Near | Filter):
        raise QueryError(
            f"{name}:(...) takes values joined by OR, AND or NOT; found {_describe_node(node)}",
            query,
            node.position,
        )
    if isinstance(node, Not):
        return replace(node, operand=_as_filter(node.operand, name, query, None))
    return replace(node, operands=tuple(_as_filter(o, name, query, None) for o in node.operands))


def parse_query(text: str) -> Query:
    """Parse a scheme query; raise `QueryError` pointing at the first problem.

    A query must need at least one word: filters narrow what the words find, and a query made of
    filters or NOTs alone would match (and alert on) nearly every post.
    """
    root = _Parser(text).parse()
    if not needs_a_term(root):
        part = _termless_part(root)
        raise QueryError(
            "this query (or one of its OR branches) can match without any of its words: add a word or"
            " phrase that must appear, e.g. 燃气 source:weibo rather than source:weibo alone,"
            " or 燃气 NOT 演练 rather than NOT 演练",
            text,
            part.position,
        )
    return Query(text, root)
