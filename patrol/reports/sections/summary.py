"""Summary: the week's headline counts and the three things the reader most needs to know.

Every section proposes findings with a weight (confirmed incidents and life-safety first, then
collection gaps that make the other figures undercount, SLA misses, rising categories, rising
topics, hotspots); the three weightiest of different kinds make the summary.
"""

from __future__ import annotations

import pandas as pd

from patrol.reports.inputs import ReportInputs, change_pct, in_week
from patrol.reports.model import Finding, HeadlineFigure, LinkList, Section, Table
from patrol.reports.week import ReportWeek

KEY_FINDINGS = 3
HEADLINE_LABELS = {
    "posts": "采集帖子 posts collected",
    "flagged_posts": "预警帖子 posts flagged",
    "review_items": "新增预警条目 review items opened",
    "escalated": "转线下核查 escalated to verification",
    "confirmed": "核查属实 confirmed",
}


def headline_figures(inputs: ReportInputs) -> list[HeadlineFigure]:
    items, tasks = inputs.workflow.items, inputs.workflow.tasks

    def counts(week: ReportWeek, posts: pd.DataFrame) -> dict[str, int]:
        return {
            "posts": len(posts),
            "flagged_posts": int(posts["flagged"].map(bool).sum()),
            "review_items": int(in_week(items["created_at"], week).sum()),
            "escalated": int(in_week(tasks["created_at"], week).sum()),
            "confirmed": int(((tasks["outcome"] == "confirmed") & in_week(tasks["completed_at"], week)).sum()),
        }

    now = counts(inputs.week, inputs.week_posts(0))
    before = counts(inputs.week.shifted(-1), inputs.week_posts(-1))
    return [HeadlineFigure(key, label, now[key], before[key]) for key, label in HEADLINE_LABELS.items()]


def pick_key_findings(candidates: list[Finding], limit: int = KEY_FINDINGS) -> list[Finding]:
    """The weightiest findings, one per kind (`volume.category_rise.fraud` is of kind
    `volume.category_rise`)."""
    chosen: list[Finding] = []
    kinds: set[str] = set()
    for finding in sorted(candidates, key=lambda f: (-f.weight, f.key)):
        kind = ".".join(finding.key.split(".")[:2])
        if kind in kinds:
            continue
        kinds.add(kind)
        chosen.append(finding)
        if len(chosen) == limit:
            break
    return chosen


def summary_section(headline: list[HeadlineFigure], findings: list[Finding]) -> Section:
    figures = pd.DataFrame(
        [
            {
                "metric": f.label,
                "this_week": f.this_week,
                "previous_week": f.previous_week,
                "change": f.this_week - f.previous_week,
                "change_pct": change_pct(f.this_week, f.previous_week),
            }
            for f in headline
        ],
        columns=["metric", "this_week", "previous_week", "change", "change_pct"],
    )
    notes = [] if findings else ["本周没有值得特别提示的事项。 Nothing stood out this week."]
    return Section(
        key="summary",
        title="概要 Summary",
        tables=[
            Table("headline", "本周概况 The week in numbers", figures),
        ],
        link_lists=[LinkList(f"{rank}. {f.headline}", f.examples) for rank, f in enumerate(findings, start=1)],
        notes=notes,
    )
