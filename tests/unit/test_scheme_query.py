"""The scheme query language: precedence, phrases, NEAR, field scopes, filters and error positions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrol.schemes.query import (
    And,
    Filter,
    Near,
    Node,
    Not,
    Or,
    QueryError,
    Term,
    TextScope,
    parse_query,
    render,
)


def tree(text: str) -> Node:
    return parse_query(text).root


def test_precedence_is_not_then_and_then_or() -> None:
    assert tree("燃气 泄漏 OR 煤气 NOT 演练") == Or(
        (And((Term("燃气"), Term("泄漏"))), And((Term("煤气"), Not(Term("演练"))))),
    )
    assert tree("a AND b OR c AND d") == Or((And((Term("a"), Term("b"))), And((Term("c"), Term("d")))))
    assert tree("NOT x y") == And((Not(Term("x")), Term("y")))


def test_brackets_override_precedence() -> None:
    assert tree("(燃气 OR 煤气) 泄漏") == And((Or((Term("燃气"), Term("煤气"))), Term("泄漏")))
    assert tree("燃气 NOT (演练 OR 演习)") == And((Term("燃气"), Not(Or((Term("演练"), Term("演习"))))))


def test_implicit_and_equals_explicit_and() -> None:
    assert tree("燃气 泄漏 香坊") == tree("燃气 AND 泄漏 AND 香坊")


def test_lower_case_operators_are_words() -> None:
    assert tree("gas and leak") == And((Term("gas"), Term("and"), Term("leak")))


def test_quoted_phrase_keeps_spaces_operators_and_escaped_quotes() -> None:
    assert tree('"gas leak" AND "NOT"') == And((Term("gas leak"), Term("NOT")))
    assert tree(r'"say \"hi\""') == Term('say "hi"')


def test_full_width_brackets_quotes_and_colons_from_chinese_input_methods() -> None:
    assert tree("燃气（泄漏 OR 泄露）") == tree("燃气 (泄漏 OR 泄露)")
    assert tree("title：“燃气 泄漏”") == Term("燃气 泄漏", scope="title")


def test_near_with_words_phrases_and_bracketed_alternatives() -> None:
    assert tree("燃气 NEAR/5 泄漏") == Near((Term("燃气"),), (Term("泄漏"),), 5)
    assert tree('(燃气 OR 煤气) NEAR/3 "闻到 味道"') == Near((Term("燃气"), Term("煤气")), (Term("闻到 味道"),), 3)
    # NEAR binds tighter than NOT and AND
    assert tree("NOT a NEAR/2 b c") == And((Not(Near((Term("a"),), (Term("b"),), 2)), Term("c")))


def test_field_scopes_apply_to_words_groups_and_near() -> None:
    assert tree("title:燃气 body:泄漏") == And((Term("燃气", scope="title"), Term("泄漏", scope="body")))
    assert tree("title:(燃气 OR 煤气)") == Or((Term("燃气", scope="title"), Term("煤气", scope="title")))
    assert tree("body:(a NEAR/2 b)") == Near((Term("a", scope="body"),), (Term("b", scope="body"),), 2)


def test_filters_take_values_and_groups_of_values() -> None:
    assert tree("燃气 source:weibo category:public_hazard") == And(
        (Term("燃气"), Filter("source", "weibo"), Filter("category", "public_hazard"))
    )
    assert tree("燃气 place:(香坊 OR 南岗)") == And(
        (Term("燃气"), Or((Filter("place", "香坊"), Filter("place", "南岗"))))
    )
    assert tree("燃气 NOT sentiment:positive author_kind:media jurisdiction:xf-branch") == And(
        (
            Term("燃气"),
            Not(Filter("sentiment", "positive")),
            Filter("author_kind", "media"),
            Filter("jurisdiction", "xf-branch"),
        )
    )


def test_canonical_form_shows_the_grouping() -> None:
    assert parse_query("燃气 泄漏 OR 煤气 NOT 演练").canonical() == "(燃气 AND 泄漏) OR (煤气 AND NOT 演练)"


def error_of(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    return caught.value


@pytest.mark.parametrize(
    ("query", "column", "says"),
    [
        ("", 1, "the query is empty"),
        ("(燃气 OR 煤气", 10, 'expected ")" to close the "(" at column 1'),
        ("燃气 AND", 7, "after AND, found the end of the query"),
        ("OR 燃气", 1, "found OR (it goes between two terms)"),
        ("燃气 )", 4, 'unexpected ")"'),
        ("()", 2, "empty brackets"),
        ('燃气 "泄漏', 4, "no closing quote"),
        ("燃气 NEAR 泄漏", 4, "NEAR needs a distance"),
        ("燃气 NEAR/x 泄漏", 4, "NEAR/n"),
        ("燃气 NEAR/500 泄漏", 4, "from 0 to 100"),
        ("a NEAR/2 b NEAR/2 c", 12, "cannot be chained"),
        ("燃气 NEAR/3 (a AND b)", 12, "found an AND group"),
        ("foo:bar 燃气", 1, "unknown field 'foo:'"),
        ("title: ", 8, "right after title:, found the end"),
        ("title:(body:x)", 13, "a term is in the title or in the body"),
        ("title:(x source:a)", 10, "source: is a filter"),
        ("source:(a NEAR/1 b) x", 9, "takes values"),
        ("NOT 演练", 1, "can match without any of its words"),
        ("source:weibo", 1, "can match without any of its words"),
        ("燃气 OR NOT 演练", 7, "can match without any of its words"),
    ],
)
def test_errors_name_the_column_and_what_was_expected(query: str, column: int, says: str) -> None:
    error = error_of(query)
    assert error.column == column
    assert says in error.message
    assert f"(column {column})" in str(error)


def test_caret_sits_under_the_problem_even_after_chinese_characters() -> None:
    error = error_of("燃气泄漏 AND")
    lines = str(error).splitlines()
    assert lines[1] == "  燃气泄漏 AND"
    # 燃气泄漏 is 4 characters but 8 terminal cells wide: the caret goes after " AND" at cell 13.
    assert lines[2] == "  " + " " * 12 + "^"


# -- rendering round trip -----------------------------------------------------------------------

WORDS = st.sampled_from(["燃气", "泄漏", "gas leak", "a:b", 'say "x"', "OR", "NEAR/2", "香坊", "vx", "(括号)"])
SCOPES: st.SearchStrategy[TextScope] = st.sampled_from(["any", "title", "body"])


@st.composite
def terms(draw: st.DrawFn) -> Term:
    return Term(draw(WORDS), scope=draw(SCOPES))


@st.composite
def nodes(draw: st.DrawFn, depth: int = 3) -> Node:
    kinds = ["term", "filter", "near"] + (["and", "or", "not"] if depth > 0 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "term":
        return draw(terms())
    if kind == "filter":
        return Filter(draw(st.sampled_from(["source", "place", "category"])), draw(WORDS))
    if kind == "near":
        return Near(
            tuple(draw(st.lists(terms(), min_size=1, max_size=2))),
            tuple(draw(st.lists(terms(), min_size=1, max_size=2))),
            draw(st.integers(0, 9)),
        )
    if kind == "not":
        return Not(draw(nodes(depth - 1)))
    operands = tuple(draw(st.lists(nodes(depth - 1), min_size=2, max_size=3)))
    return And(operands) if kind == "and" else Or(operands)


@settings(max_examples=300, deadline=None)
@given(nodes())
def test_rendered_queries_parse_back_to_the_same_tree(node: Node) -> None:
    text = render(node)
    try:
        parsed = parse_query(text)
    except QueryError as exc:
        # The only refusal allowed for a well-formed tree is the "needs a word" rule.
        assert "can match without any of its words" in exc.message
        return
    assert parsed.root == node
