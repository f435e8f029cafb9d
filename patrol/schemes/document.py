"""A post as the scheme matcher sees it: normalised title and body, their words, and the properties
the filters test.

Words are only needed for NEAR distances, so they are worked out on first use: the body's from
the tokens the NLP stage already produced, the title's by the segmenter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from patrol.schema import AnalysedPost, Post
from patrol.schemes.context import MatchContext, author_kind_of

TITLE = 0
BODY = 1
FIELD_NAMES: tuple[str, str] = ("title", "body")

_WORD_CHAR = re.compile(r"[^\W_]")


def title_of(post: Post) -> str:
    """The post's own title, or the thread's for its first floor; replies carry no title.

    Giving every reply its thread's title would make each reply in a thread about 燃气泄漏 a
    match for 燃气泄漏, however off-topic.
    """
    if post.title:
        return post.title
    if post.thread_title and post.floor in (None, 1):
        return post.thread_title
    return ""


def word_positions(text: str, tokens: Sequence[str]) -> list[int]:
    """For each character of `text`, the number of the word it is part of, or -1.

    Words are the tokens with a letter, digit or Chinese character in them (punctuation and
    spaces do not count towards a NEAR distance). Tokens are found in order in the text; one the
    text does not contain (a token changed after segmentation) is skipped.
    """
    positions = [-1] * len(text)
    cursor = 0
    word = 0
    for token in tokens:
        if not token or not _WORD_CHAR.search(token):
            continue
        found = text.find(token, cursor)
        if found < 0:
            continue
        end = found + len(token)
        for index in range(found, end):
            positions[index] = word
        word += 1
        cursor = end
    return positions


@dataclass(slots=True)
class MatchDocument:
    post_id: str
    title: str
    body: str
    source_id: str = ""
    author_kind: str = "public"
    categories: frozenset[str] = frozenset()
    sentiment: str = "neutral"
    places: frozenset[str] = frozenset()
    jurisdiction: str | None = None
    published_at: datetime | None = None
    body_tokens: Sequence[str] | None = None
    cut: Callable[[str], list[str]] | None = None
    _words: dict[int, list[int]] = field(default_factory=dict)

    def text(self, which: int) -> str:
        return self.title if which == TITLE else self.body

    def word_index(self, which: int) -> list[int]:
        """Per character of the title or body, the number of its word (-1 for none)."""
        known = self._words.get(which)
        if known is None:
            text = self.text(which)
            if which == BODY and self.body_tokens is not None:
                tokens: Sequence[str] = self.body_tokens
            elif self.cut is not None:
                tokens = self.cut(text)
            else:
                tokens = text.split()
            known = word_positions(text, tokens)
            self._words[which] = known
        return known


def document_for(item: AnalysedPost, context: MatchContext) -> MatchDocument:
    post, analysis = item.post, item.analysis
    title = title_of(post)
    jurisdiction = analysis.jurisdiction
    if jurisdiction is None and post.jurisdiction_hint in context.gazetteer.units_within:
        jurisdiction = post.jurisdiction_hint
    return MatchDocument(
        post_id=post.id,
        title=context.normalize(title) if title else "",
        body=analysis.normalized_text,
        source_id=post.source_id,
        author_kind=author_kind_of(post.kind),
        categories=context.flagged_categories(analysis.risk_scores),
        sentiment=analysis.sentiment_label,
        places=frozenset(tag.name for tag in analysis.places),
        jurisdiction=jurisdiction,
        published_at=post.published_at,
        body_tokens=analysis.tokens,
        cut=context.cut,
    )
