"""Monitoring schemes: what each is for, what it found, and opening a review item by hand from a match.

A scheme never opens review items by itself; an officer reading its matches may, in a category they
choose and with a note (`patrol.workflow.manual`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.schema import RISK_CATEGORIES
from patrol.schemes.post_index import posts_matching_scheme
from patrol.schemes.registry import get_scheme, list_schemes, match_counts
from patrol.schemes.summary import scheme_summary
from patrol.web.charts import Series, bar_chart, line_chart
from patrol.web.routes.common import ObjectId, run_change
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.workflow.actors import Permission
from patrol.workflow.errors import NotFound
from patrol.workflow.manual import open_item_by_hand
from patrol.workflow.models import ReviewItemPost

router = APIRouter()
WINDOWS = (1, 7, 30, 90)
MATCHES_SHOWN = 30
#: Officers, reviewers, analysts and admins read schemes; field units do not.
READERS = (Permission.ITEMS_READ, Permission.STATS_READ)


@router.get("/schemes")
def schemes_page(request: Request, viewer: Annotated[Viewer, Depends(page_guard(any_of=READERS))]) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    with console.api.db.read_session() as session:
        schemes = list_schemes(session)
        counts = match_counts(session, since=now - timedelta(days=7))
    return render(request, "schemes.html", {"schemes": schemes, "counts": counts})


@router.get("/schemes/{scheme_id}")
def scheme_page(
    request: Request,
    scheme_id: ObjectId,
    viewer: Annotated[Viewer, Depends(page_guard(any_of=READERS))],
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    since = now - timedelta(days=days)
    store_path = console.settings.sqlite_path if console.settings.sqlite_path.exists() else None
    with console.api.db.read_session() as session:
        scheme_id = get_scheme(session, scheme_id).id
        summary = scheme_summary(session, scheme_id, since=since, until=now, store_path=store_path)
    matches = posts_matching_scheme(console.posts, scheme_id, limit=MATCHES_SHOWN)
    in_items: dict[str, list[tuple[str, str]]] = {}
    if matches.hits:
        with console.api.db.read_session() as session:
            rows = session.execute(
                select(ReviewItemPost.post_id, ReviewItemPost.item_id, ReviewItemPost.category).where(
                    ReviewItemPost.post_id.in_([h.post_id for h in matches.hits])
                )
            ).tuples()
            for post_id, item_id, category in rows:
                in_items.setdefault(post_id, []).append((item_id, category))
    charts = {
        "per_day": line_chart(
            list(summary.per_day), [Series("matches", list(summary.per_day.values()))], title="Matches per day"
        ),
        "terms": bar_chart(summary.top_terms, title="Keywords"),
    }
    return render(
        request,
        "scheme.html",
        {
            "summary": summary,
            "scheme": summary.scheme,
            "matches": matches,
            "in_items": in_items,
            "charts": charts,
            "windows": WINDOWS,
            "days": days,
            "categories": RISK_CATEGORIES,
            "can_open": viewer.can(Permission.ITEMS_TRIAGE),
            "can_view_items": viewer.can(Permission.ITEMS_VIEW_DETAIL),
        },
    )


@router.post("/schemes/open-item")
def open_item_from_match(
    request: Request,
    form: Annotated[FormRequest, Depends(form_guard(Permission.ITEMS_TRIAGE))],
) -> Response:
    console = console_of(request)
    scheme_id = form.text("scheme_id")
    post_id = form.text("post_id")
    category = form.text("category")
    note = form.text("note")
    with console.api.db.read_session() as session:
        scheme_id = get_scheme(session, scheme_id).id
    post = console.posts.get(post_id) if post_id else None
    if post is None:
        raise NotFound(f"there is no stored post {post_id!r}; choose one of the scheme's matched posts")
    now = console.api.clock.now()

    def change(session: Session) -> str:
        opened = open_item_by_hand(session, post, category, form.viewer.actor, note, now)
        if opened.created:
            return f"Opened review item {opened.item_id} ({category}) for post {post_id}."
        return f"Post {post_id} is already in review item {opened.item_id} ({category}); nothing opened."

    return run_change(request, form, f"/schemes/{scheme_id}", change)
