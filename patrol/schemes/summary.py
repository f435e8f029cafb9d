"""What a scheme found over a period, for its console page and its section of the weekly report:
a timeline per local day, the largest near-duplicate groups, the words that found them, sources,
jurisdictions and places.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.schemes.models import SchemeMatch
from patrol.schemes.post_index import SchemePostIndex
from patrol.schemes.quiet_hours import LOCAL_ZONE
from patrol.schemes.registry import SchemeView, get_scheme


class TopPost(BaseModel):
    post_id: str = Field(description="the first post of a near-duplicate group")
    copies: int
    published_at: AwareDatetime
    source_id: str
    terms: list[str]
    life_safety: bool
    url: str | None = None
    title: str | None = None
    snippet: str | None = None


class SchemeSummary(BaseModel):
    scheme: SchemeView
    since: AwareDatetime
    until: AwareDatetime
    matches: int
    groups: int
    life_safety: int = Field(description="matches of posts flagged in a life-safety category")
    per_day: dict[str, int] = Field(description="local date (Asia/Shanghai) -> matches, by publication time")
    top_terms: list[tuple[str, int]]
    sources: list[tuple[str, int]]
    jurisdictions: list[tuple[str, int]]
    places: list[tuple[str, int]]
    top_posts: list[TopPost]


def _days(since: datetime, until: datetime) -> list[str]:
    first = since.astimezone(LOCAL_ZONE).date()
    last = (until - timedelta(microseconds=1)).astimezone(LOCAL_ZONE).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def scheme_summary(
    session: Session,
    name_or_id: str,
    *,
    since: datetime,
    until: datetime,
    store_path: Path | None = None,
    top: int = 10,
) -> SchemeSummary:
    """Figures of one scheme's matches of posts published in [since, until).

    With `store_path` (the SQLite post store), places and the top posts' titles and snippets are
    read from the stored posts too.
    """
    scheme = SchemeView.of(get_scheme(session, name_or_id))
    rows = session.scalars(
        select(SchemeMatch)
        .where(
            SchemeMatch.scheme_id == scheme.id,
            SchemeMatch.published_at >= since,
            SchemeMatch.published_at < until,
        )
        .order_by(SchemeMatch.published_at, SchemeMatch.id)
    ).all()
    per_day = dict.fromkeys(_days(since, until), 0)
    terms: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    firsts: dict[str, SchemeMatch] = {}
    for row in rows:
        day = row.published_at.astimezone(LOCAL_ZONE).date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
        terms.update(json.loads(row.terms_json))
        groups[row.group_post_id] += 1
        firsts.setdefault(row.group_post_id, row)
    ranked = sorted(firsts.values(), key=lambda r: (not r.life_safety, -groups[r.group_post_id], r.published_at))
    top_posts = [
        TopPost(
            post_id=row.post_id,
            copies=groups[row.group_post_id],
            published_at=row.published_at,
            source_id=row.source_id,
            terms=json.loads(row.terms_json),
            life_safety=row.life_safety,
        )
        for row in ranked[:top]
    ]
    places: list[tuple[str, int]] = []
    if store_path is not None:
        with SchemePostIndex(store_path) as index:
            places = index.place_counts(scheme.id, since, until).most_common(top)
            shown = index.post_headlines([p.post_id for p in top_posts])
        for post in top_posts:
            if post.post_id in shown:
                post.url, post.title, post.snippet = shown[post.post_id]
    return SchemeSummary(
        scheme=scheme,
        since=since,
        until=until,
        matches=len(rows),
        groups=len(groups),
        life_safety=sum(1 for row in rows if row.life_safety),
        per_day=per_day,
        top_terms=terms.most_common(top),
        sources=Counter(row.source_id for row in rows).most_common(top),
        jurisdictions=Counter(row.jurisdiction or "-" for row in rows).most_common(top),
        places=places,
        top_posts=top_posts,
    )
