"""Everything the item page shows: the posts with their evidence highlighted, why the item was
flagged, the thread around it, its near-duplicate copies, place, task and history.

Authors of crawled posts are pseudonymised here, before anything reaches a template, so no part of
the page can show a raw handle by accident; a reviewer's audited reveal is added by the route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from patrol.ops.privacy import pseudonymise_analysed
from patrol.reports.pseudonyms import AuthorNames
from patrol.schema import AnalysedPost, PlaceTag
from patrol.store.base import PostStore
from patrol.web.inert import Span, highlight
from patrol.web.posts import PostPreview, PostReader
from patrol.workflow.actors import Actor
from patrol.workflow.audit import audit_rows
from patrol.workflow.items import item_detail
from patrol.workflow.models import AuditEntry, ReviewItem, ReviewItemPost, VerificationTask
from patrol.workflow.tasks import ENTITY as TASK_ENTITY

#: Signals that point at a span of the text; a model score covers the whole text and is shown apart.
SPAN_SIGNALS = ("lexicon", "rule", "ngram")


@dataclass
class EvidenceRow:
    signal: str
    rule: str
    term: str
    weight: float
    start: int
    end: int


@dataclass
class CopyView:
    row: ReviewItemPost
    post: AnalysedPost | None
    evidence: list[EvidenceRow]
    text_html: Markup
    model_scores: list[EvidenceRow] = field(default_factory=list)

    @property
    def category_score(self) -> float | None:
        if self.post is None:
            return None
        return self.post.analysis.risk_scores.get(self.row.category)


@dataclass
class HistoryRow:
    entry: AuditEntry
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class ItemView:
    item: ReviewItem
    first: CopyView | None
    copies: list[CopyView]
    thread: list[PostPreview]
    places: list[PlaceTag]
    task: VerificationTask | None
    history: list[HistoryRow]
    views: int


def evidence_rows(evidence_json: str) -> list[EvidenceRow]:
    rows = []
    for raw in json.loads(evidence_json or "[]"):
        try:
            rows.append(
                EvidenceRow(
                    signal=str(raw.get("signal", "")),
                    rule=str(raw.get("rule", "")),
                    term=str(raw.get("term", "")),
                    weight=float(raw.get("weight", 1.0)),
                    start=int(raw.get("start", 0)),
                    end=int(raw.get("end", 0)),
                )
            )
        except (TypeError, ValueError):
            continue  # a malformed evidence row is left out, never shown raw
    return rows


def copy_view(row: ReviewItemPost, post: AnalysedPost | None) -> CopyView:
    evidence = evidence_rows(row.evidence_json)
    spans = [
        Span(e.start, e.end, f"{e.rule}: {e.term}" if e.term else e.rule, row.category)
        for e in evidence
        if e.signal in SPAN_SIGNALS
    ]
    text_html = highlight(post.post.text, spans) if post is not None else Markup("")
    return CopyView(
        row=row,
        post=post,
        evidence=[e for e in evidence if e.signal in SPAN_SIGNALS],
        text_html=text_html,
        model_scores=[e for e in evidence if e.signal not in SPAN_SIGNALS],
    )


def _history(session: Session, item: ReviewItem) -> tuple[list[HistoryRow], int]:
    rows = audit_rows(session, entity_type="review_item", entity_id=item.id, limit=1000)
    if item.task_id:
        rows += audit_rows(session, entity_type=TASK_ENTITY, entity_id=item.task_id, limit=1000)
    rows.sort(key=lambda r: r.seq)
    shown = [r for r in rows if not r.action.endswith(".viewed")]
    history = [
        HistoryRow(
            entry=r,
            before=json.loads(r.before_json) if r.before_json else None,
            after=json.loads(r.after_json) if r.after_json else None,
        )
        for r in shown
    ]
    return history, len(rows) - len(shown)


def _pseudonymised(post: AnalysedPost | None, names: AuthorNames) -> AnalysedPost | None:
    return None if post is None else pseudonymise_analysed([post], names)[0]


def load_item_view(
    session: Session,
    store: PostStore,
    reader: PostReader,
    actor: Actor,
    item_id: str,
    *,
    names: AuthorNames,
    now: Any,
) -> ItemView:
    """The item as `actor` may see it; every post author is shown as `names` gives it (a pseudonym)."""
    item = item_detail(session, actor, item_id, now=now)  # checks the role and audits the view
    rows = sorted(item.posts, key=lambda p: (p.post_id != item.first_post_id, p.added_at, p.id))
    copies = [copy_view(row, _pseudonymised(store.get(row.post_id), names)) for row in rows[:50]]
    first = copies[0] if copies else None
    thread: list[PostPreview] = []
    places: list[PlaceTag] = []
    if first is not None and first.post is not None:
        post = first.post.post
        places = first.post.analysis.places
        if post.thread_id:
            thread = reader.thread(post.source_id, post.thread_id)
    task = session.get(VerificationTask, item.task_id) if item.task_id else None
    history, views = _history(session, item)
    return ItemView(
        item=item,
        first=first,
        copies=copies[1:],
        thread=thread,
        places=places,
        task=task,
        history=history,
        views=views,
    )
