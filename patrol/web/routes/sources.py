"""Sources: is every crawler healthy (last success, items, errors, degraded)?"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from patrol.web.session import Viewer, console_of, page_guard
from patrol.web.source_health import SourcesReport, source_health
from patrol.web.templating import render
from patrol.workflow.actors import Permission

router = APIRouter()
DeskOrAnalyst = Annotated[Viewer, Depends(page_guard(any_of=(Permission.ITEMS_READ, Permission.STATS_READ)))]


def current_health(request: Request) -> SourcesReport:
    console = console_of(request)
    now = console.api.clock.now()

    def compute() -> SourcesReport:
        counts = console.post_reader.post_counts_by_source()
        return source_health(console.settings, now=now, posts_by_source=counts)

    return console.cache.get(("sources", now.replace(second=0, microsecond=0)), compute)


@router.get("/sources")
def sources_page(request: Request, viewer: DeskOrAnalyst) -> Response:
    report = current_health(request)
    return render(
        request, "sources.html", {"report": report, "degraded": sum(1 for s in report.sources if s.degraded)}
    )
