"""The live queue: life-safety first, timers, one-click triage, filters and bulk actions."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from patrol.schema import RISK_CATEGORIES
from patrol.web.queue_view import QUEUE_VIEWS, QueueQuery, load_queue, open_sources
from patrol.web.routes.common import run_change
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.workflow.actors import Permission
from patrol.workflow.errors import InvalidInput
from patrol.workflow.items import bulk_action

router = APIRouter()
# Empty values are allowed: a filter <select> left at "all" sends `category=`.
_CATEGORY = "^(|" + "|".join(RISK_CATEGORIES) + ")$"
_ID = r"^[A-Za-z0-9._:-]{0,64}$"
QueueReader = Annotated[Viewer, Depends(page_guard(Permission.ITEMS_READ))]


def _query(
    view: Annotated[str, Query(pattern="^(" + "|".join(QUEUE_VIEWS) + ")$")] = "open",
    category: Annotated[str | None, Query(pattern=_CATEGORY)] = None,
    source: Annotated[str | None, Query(pattern=_ID)] = None,
    jurisdiction: Annotated[str | None, Query(pattern=_ID)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> QueueQuery:
    return QueueQuery(
        view=view,
        category=category or None,
        source=source or None,
        jurisdiction=jurisdiction or None,
        offset=offset,
    )


def _page_data(request: Request, viewer: Viewer, query: QueueQuery) -> dict[str, object]:
    console = console_of(request)
    now = console.api.clock.now()
    with console.api.db.read_session() as session:
        page = load_queue(session, console.post_reader, viewer.actor, query, now=now)
        # The filter's choice of sources may be a minute old; the rows never are.
        sources = console.cache.get(
            ("open-sources", now.replace(second=0, microsecond=0)), lambda: open_sources(session)
        )
    self_path = "/queue" + (f"?{urlencode(query.params())}" if query.params() else "")
    return {
        "page": page,
        "query": query,
        "sources": sources,
        "self_path": self_path,
        "reasons": console.api.policy.dismiss_reasons.reasons,
        "views": QUEUE_VIEWS,
        "next_params": urlencode(query.params(offset=query.offset + query.limit)),
        "prev_params": urlencode(query.params(offset=max(0, query.offset - query.limit))),
    }


@router.get("/queue")
def queue_page(
    request: Request, viewer: QueueReader, query: Annotated[QueueQuery, Depends(_query)]
) -> Response:
    return render(request, "queue.html", _page_data(request, viewer, query))


@router.get("/queue/rows")
def queue_rows(
    request: Request, viewer: QueueReader, query: Annotated[QueueQuery, Depends(_query)]
) -> Response:
    """The table body alone, for the page's live refresh."""
    return render(request, "_queue_rows.html", _page_data(request, viewer, query), fragment=True)


@router.post("/queue/bulk")
def queue_bulk(
    request: Request, form: Annotated[FormRequest, Depends(form_guard(Permission.ITEMS_TRIAGE))]
) -> Response:
    console = console_of(request)
    ids = form.all("item_id")
    action = form.text("action")

    def change(session: Session) -> str:
        if not ids:
            raise InvalidInput("tick at least one item for a bulk action")
        if action not in ("claim", "release", "dismiss", "duplicate"):
            raise InvalidInput("choose a bulk action: claim, release, dismiss or duplicate")
        outcomes = bulk_action(
            session,
            console.api.policy,
            form.viewer.actor,
            ids,
            action=action,  # type: ignore[arg-type]
            now=console.api.clock.now(),
            reason=form.optional("reason"),
            note=form.optional("note"),
            of=form.optional("of"),
        )
        done = [o for o in outcomes if o.ok]
        failed = [o for o in outcomes if not o.ok]
        message = f"{action}: {len(done)} done"
        if failed:
            message += (
                f", {len(failed)} refused (" + "; ".join(f"{o.item_id}: {o.error}" for o in failed[:5]) + ")"
            )
        return message

    return run_change(request, form, "/queue", change)
