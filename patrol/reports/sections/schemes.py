"""Monitoring schemes (监测方案): one section per scheme active in the week, with what it found.

Reads the schemes' tables in the workflow database; when the schemes package is not installed,
the report simply has no scheme sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select

from patrol.reports.inputs import ReportInputs, day_labels, in_week, local_days
from patrol.reports.model import ChartSpec, Finding, LinkList, Section, Table
from patrol.reports.week import ReportWeek
from patrol.workflow.db import WorkflowDb

MATCH_COLUMNS = ("post_id", "published_at", "group_post_id", "life_safety", "jurisdiction", "source_id")
SPIKE_RATIO = 2.0
SPIKE_MIN = 5


@dataclass(frozen=True)
class SchemeActivity:
    id: str
    name: str
    purpose: str
    owner: str
    query: str
    active_from: datetime | None
    active_until: datetime | None
    matches: pd.DataFrame  # MATCH_COLUMNS, published in the report's week and the one before


def load_scheme_activity(db: WorkflowDb, week: ReportWeek) -> list[SchemeActivity]:
    """Schemes whose active window overlaps the week, and their matches of this week and the last."""
    try:
        from patrol.schemes.models import Scheme, SchemeMatch
    except ImportError:
        return []
    since, until = week.shifted(-1).start_utc, week.end_utc
    with db.read_session() as session:
        schemes = session.scalars(select(Scheme).order_by(Scheme.name)).all()
        active = [
            s
            for s in schemes
            if (s.active_from is None or s.active_from < week.end_utc)
            and (s.active_until is None or s.active_until > week.start_utc)
        ]
        found: list[SchemeActivity] = []
        for scheme in active:
            rows = session.execute(
                select(*(getattr(SchemeMatch, c) for c in MATCH_COLUMNS)).where(
                    SchemeMatch.scheme_id == scheme.id,
                    SchemeMatch.published_at >= since,
                    SchemeMatch.published_at < until,
                )
            ).all()
            matches = pd.DataFrame([tuple(r) for r in rows], columns=list(MATCH_COLUMNS))
            matches["published_at"] = pd.to_datetime(matches["published_at"], utc=True)
            found.append(
                SchemeActivity(
                    scheme.id,
                    scheme.name,
                    scheme.purpose,
                    scheme.owner,
                    scheme.query,
                    scheme.active_from,
                    scheme.active_until,
                    matches,
                )
            )
    return found


def scheme_section(inputs: ReportInputs, scheme: SchemeActivity) -> Section:
    week = inputs.week
    matches = scheme.matches
    this = matches[in_week(matches["published_at"], week)].copy()
    before = matches[in_week(matches["published_at"], week.shifted(-1))]
    this["local_day"] = local_days(this["published_at"])
    summary = pd.DataFrame(
        [
            {"metric": "matches 命中帖子", "this_week": len(this), "previous_week": len(before)},
            {
                "metric": "groups 去重后",
                "this_week": this["group_post_id"].nunique(),
                "previous_week": before["group_post_id"].nunique(),
            },
            {
                "metric": "life-safety 生命安全",
                "this_week": int(this["life_safety"].astype(bool).sum()),
                "previous_week": int(before["life_safety"].astype(bool).sum()),
            },
        ]
    )
    per_day = this.groupby("local_day").size().reindex(week.days, fill_value=0).astype(int)
    daily = pd.DataFrame({"date": [f"{d:%Y-%m-%d}" for d in week.days], "matches": per_day.to_numpy()})
    units = this["jurisdiction"].fillna("(none)").value_counts()
    by_unit = pd.DataFrame(
        {
            "unit": list(units.index),
            "unit_name": [inputs.unit_name(None if u == "(none)" else str(u)) for u in units.index],
            "matches": [int(n) for n in units.to_numpy()],
        },
        columns=["unit", "unit_name", "matches"],
    ).sort_values(["matches", "unit"], ascending=[False, True])
    latest_groups = this.sort_values(["published_at", "post_id"], ascending=[False, True]).drop_duplicates(
        "group_post_id"
    )["group_post_id"]
    examples = inputs.post_links([str(p) for p in latest_groups.head(3)])
    window = " – ".join(
        f"{moment:%Y-%m-%d %H:%M}" if moment else "…" for moment in (scheme.active_from, scheme.active_until)
    )
    findings = []
    if len(this) >= SPIKE_MIN and len(this) >= SPIKE_RATIO * max(len(before), 1):
        findings.append(
            Finding(
                key=f"scheme.rise.{scheme.id}",
                headline=(
                    f"监测方案「{scheme.name}」命中 {len(this)} 条(上周 {len(before)} 条)"
                    f" — scheme {scheme.name}: {len(this)} matches vs {len(before)}"
                ),
                weight=40 + min(20.0, len(this) / max(len(before), 1)),
                figures={"scheme": scheme.name, "this_week": len(this), "previous_week": len(before)},
                examples=examples,
            )
        )
    return Section(
        key=f"scheme-{scheme.id}",
        title=f"监测方案 Scheme: {scheme.name}",
        intro=f"{scheme.purpose}(负责人 owner {scheme.owner};生效 active {window})",
        tables=[
            Table("scheme_summary", "概况 Summary", summary, f"query: {scheme.query}"),
            Table("scheme_by_day", "每日命中 Matches by day", daily),
            Table("scheme_by_unit", "各辖区命中 Matches by unit", by_unit),
        ],
        charts=[
            ChartSpec(
                f"scheme_{scheme.id}_by_day",
                f"{scheme.name}: 每日命中 matches by day",
                "bar",
                pd.DataFrame({"命中 matches": per_day.to_numpy()}, index=day_labels(week.days)),
                "帖子 posts",
            )
        ],
        link_lists=[LinkList("最新命中 Latest matches", examples)] if examples else [],
        findings=findings,
    )
