"""Every example query in docs/schemes.md parses and compiles, so the documentation cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from patrol.schemes.context import MatchContext
from patrol.schemes.matcher import SchemeMatcher
from patrol.schemes.query import QueryError

CONTEXT = MatchContext()
DOC = Path(__file__).resolve().parents[2] / "docs" / "schemes.md"


def example_queries() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n(.*?)```", text, flags=re.S)  # query examples are in text blocks
    examples = [line for block in blocks for line in block.splitlines() if line and not line.startswith("#")]
    examples += re.findall(r"--query '([^']+)'", text)  # and in the command lines
    return [q for q in examples if "..." not in q]


def test_the_document_has_examples() -> None:
    assert len(example_queries()) >= 8


@pytest.mark.parametrize("query", example_queries())
def test_example_compiles(query: str) -> None:
    if query in ("(燃气 OR 煤气 泄漏", "燃气 NEAR 泄漏"):  # the documented error examples
        with pytest.raises(QueryError):
            SchemeMatcher.check(query, CONTEXT)
        return
    SchemeMatcher.check(query, CONTEXT)
