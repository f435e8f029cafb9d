"""Trends: volume by category and source, hot and rising topics, sentiment, per-jurisdiction table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from patrol.schema import CATEGORY_LABELS_ZH
from patrol.web.charts import Series, bar_chart, line_chart
from patrol.web.session import Viewer, console_of, page_guard
from patrol.web.templating import render
from patrol.web.trends import TrendsData, compute_trends
from patrol.workflow.actors import Permission

router = APIRouter()
WINDOWS = (1, 7, 30, 90)


@router.get("/trends")
def trends_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(page_guard(Permission.STATS_READ))],
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> Response:
    console = console_of(request)
    now = console.api.clock.now()

    def compute() -> TrendsData:
        with console.api.db.read_session() as session:
            return compute_trends(console.posts, session, days=days, now=now)

    data = console.cache.get(("trends", days, now.replace(minute=0, second=0, microsecond=0)), compute)
    charts = {
        "volume": line_chart(data.labels, [Series("all posts", data.volume)], title="Posts over time"),
        "categories": line_chart(
            data.labels,
            [Series(f"{c} {CATEGORY_LABELS_ZH.get(c, '')}", v) for c, v in data.by_category.items()],
            title="Flagged posts by category",
        ),
        "sources": line_chart(
            data.labels, [Series(s, v) for s, v in data.by_source.items()], title="Posts by source"
        ),
        "hot": bar_chart(data.hot, title="Hot keywords"),
        "sentiment": bar_chart(sorted(data.sentiment.by_label.items()), title="Sentiment labels"),
    }
    return render(request, "trends.html", {"data": data, "charts": charts, "windows": WINDOWS, "days": days})
