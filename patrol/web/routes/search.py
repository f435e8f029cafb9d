"""Full-text search over all posts with filters, highlighted snippets and saved searches."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from patrol.schema import RISK_CATEGORIES
from patrol.schemes.registry import list_schemes
from patrol.store.base import SearchFilters
from patrol.web.routes.common import ObjectId, redirect_with_flash
from patrol.web.saved_searches import SEARCH_PARAMS, clean_query_string
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.web.timefmt import DISPLAY_ZONE
from patrol.workflow.actors import Permission
from patrol.workflow.errors import InvalidInput
from patrol.workflow.models import ReviewItemPost

router = APIRouter()
Searcher = (Permission.ITEMS_READ, Permission.STATS_READ)
PAGE_SIZE = 20
_CATEGORY = "^(|" + "|".join(RISK_CATEGORIES) + ")$"
_ID = r"^[A-Za-z0-9._:-]{0,64}$"
_DAY = r"^(|\d{4}-\d{2}-\d{2})$"


def _day_start(value: str) -> datetime | None:
    return datetime.combine(date.fromisoformat(value), time(0), tzinfo=DISPLAY_ZONE) if value else None


def source_choices(request: Request) -> list[str]:
    console = console_of(request)
    return console.cache.get("source-choices", lambda: sorted(console.post_reader.post_counts_by_source()))


def scheme_choices(request: Request) -> list[tuple[str, str]]:
    """(id, name) of the monitoring schemes, for the scheme filter."""
    console = console_of(request)

    def load() -> list[tuple[str, str]]:
        with console.api.db.read_session() as session:
            return [(view.id, view.name) for view in list_schemes(session)]

    return console.cache.get("scheme-choices", load)


@router.get("/search")
def search_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_guard(any_of=Searcher))],
    q: Annotated[str, Query(max_length=200)] = "",
    source: Annotated[str, Query(pattern=_ID)] = "",
    category: Annotated[str, Query(pattern=_CATEGORY)] = "",
    jurisdiction: Annotated[str, Query(pattern=_ID)] = "",
    scheme: Annotated[str, Query(pattern=_ID)] = "",
    since: Annotated[str, Query(pattern=_DAY)] = "",
    until: Annotated[str, Query(pattern=_DAY)] = "",
    min_risk_text: Annotated[str, Query(alias="min_risk", pattern=r"^(|0(\.\d+)?|1(\.0+)?)$")] = "",
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    console = console_of(request)
    min_risk = float(min_risk_text) if min_risk_text else None
    until_day = _day_start(until)
    filters = SearchFilters(
        sources=[source] if source else [],
        categories=[category] if category else [],
        jurisdictions=[jurisdiction] if jurisdiction else [],
        schemes=[scheme] if scheme else [],
        since=_day_start(since),
        until=until_day + timedelta(days=1) if until_day else None,
        min_risk=min_risk,
    )
    searched = bool(q.strip()) or any(
        [source, category, jurisdiction, scheme, since, until, min_risk is not None]
    )
    page = console.posts.search(q, filters, limit=PAGE_SIZE, offset=offset) if searched else None
    flagged: dict[str, list[str]] = {}
    if page is not None and page.hits:
        with console.api.db.read_session() as session:
            rows = session.execute(
                select(ReviewItemPost.post_id, ReviewItemPost.item_id).where(
                    ReviewItemPost.post_id.in_([h.post_id for h in page.hits])
                )
            )
            for post_id, item_id in rows:
                flagged.setdefault(post_id, []).append(item_id)
    params = {
        "q": q,
        "source": source,
        "category": category,
        "jurisdiction": jurisdiction,
        "scheme": scheme,
        "since": since,
        "until": until,
        "min_risk": "" if min_risk is None else str(min_risk),
    }
    kept = {k: v for k, v in params.items() if v}
    return render(
        request,
        "search.html",
        {
            "page": page,
            "params": params,
            "query_string": urlencode(kept),
            "offset": offset,
            "page_size": PAGE_SIZE,
            "next_qs": urlencode(kept | {"offset": offset + PAGE_SIZE}),
            "prev_qs": urlencode(kept | {"offset": max(0, offset - PAGE_SIZE)}),
            "flagged": flagged,
            "sources": source_choices(request),
            "schemes": scheme_choices(request),
            "saved": console.saved_searches.list(viewer.username),
            "self_path": "/search" + (f"?{urlencode(kept)}" if kept else ""),
            "can_view_items": viewer.can(Permission.ITEMS_VIEW_DETAIL),
            "search_params": SEARCH_PARAMS,
        },
    )


@router.post("/search/saved")
def save_search(
    request: Request, form: Annotated[FormRequest, Depends(form_guard(any_of=Searcher))]
) -> Response:
    console = console_of(request)
    query_string = clean_query_string(parse_qsl(form.text("query_string")))
    try:
        saved = console.saved_searches.save(
            form.viewer.username, form.text("name"), query_string, now=console.api.clock.now()
        )
    except InvalidInput as exc:
        return redirect_with_flash(
            request, "/search" + (f"?{query_string}" if query_string else ""), "error", str(exc)
        )
    return redirect_with_flash(request, f"/search?{saved.query_string}", "ok", f"Saved as “{saved.name}”")


@router.post("/search/saved/{search_id}/delete")
def delete_search(
    request: Request, search_id: ObjectId, form: Annotated[FormRequest, Depends(form_guard(any_of=Searcher))]
) -> Response:
    console = console_of(request)
    console.saved_searches.delete(form.viewer.username, search_id)
    return redirect_with_flash(request, "/search", "ok", "Saved search deleted")
