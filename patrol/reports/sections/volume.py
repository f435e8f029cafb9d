"""Volume: posts per day by source and flagged posts by category, against the previous week."""

from __future__ import annotations

import pandas as pd

from patrol.reports.inputs import ReportInputs, change_pct, day_labels
from patrol.reports.model import ChartSpec, Finding, Section, Table
from patrol.schema import CATEGORY_LABELS_ZH, LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES

#: A category's flags must grow by this much, and by at least MIN_RISE posts, to be a finding.
RISE_RATIO = 1.5
MIN_RISE = 3


def sources_of(inputs: ReportInputs) -> list[str]:
    seen = set(inputs.week_posts(0)["source_id"]) | set(inputs.week_posts(-1)["source_id"])
    return sorted(seen | set(inputs.configured_sources))


def _per_day(posts: pd.DataFrame, days: list, column: str, keys: list[str]) -> pd.DataFrame:
    counts = posts.groupby(["local_day", column]).size().unstack(fill_value=0) if len(posts) else pd.DataFrame()
    return counts.reindex(index=days, columns=keys, fill_value=0).astype(int)


def flagged_long(posts: pd.DataFrame) -> pd.DataFrame:
    """One row per (post, flagged category): a post flagged in two categories counts in both."""
    exploded = posts[["id", "local_day", "flagged", "max_risk"]].explode("flagged")
    return exploded[exploded["flagged"].notna()].rename(columns={"flagged": "category"})


def volume_section(inputs: ReportInputs) -> Section:
    week = inputs.week
    this, previous = inputs.week_posts(0), inputs.week_posts(-1)
    sources = sources_of(inputs)
    days = week.days
    labels = day_labels(days)

    by_day = _per_day(this, days, "source_id", sources)
    prev_by_day = previous.groupby("local_day").size().reindex(week.shifted(-1).days, fill_value=0)
    daily = pd.DataFrame({"date": [f"{d:%Y-%m-%d}" for d in days], "weekday": [lab[-2:] for lab in labels]})
    for source in sources:
        daily[source] = by_day[source].to_numpy()
    daily["total"] = by_day.sum(axis=1).to_numpy()
    daily["previous_week"] = prev_by_day.to_numpy().astype(int)
    daily["change"] = daily["total"] - daily["previous_week"]

    this_by_source = this.groupby("source_id").size()
    prev_by_source = previous.groupby("source_id").size()
    per_source = pd.DataFrame({"source": sources})
    per_source["this_week"] = [int(this_by_source.get(s, 0)) for s in sources]
    per_source["previous_week"] = [int(prev_by_source.get(s, 0)) for s in sources]
    per_source["change"] = per_source["this_week"] - per_source["previous_week"]
    per_source["change_pct"] = [
        change_pct(a, b) for a, b in zip(per_source["this_week"], per_source["previous_week"], strict=True)
    ]

    flags_this, flags_prev = flagged_long(this), flagged_long(previous)
    this_by_category = flags_this.groupby("category").size()
    prev_by_category = flags_prev.groupby("category").size()
    categories = list(RISK_CATEGORIES)
    per_category = pd.DataFrame({"category": categories, "category_zh": [CATEGORY_LABELS_ZH[c] for c in categories]})
    per_category["this_week"] = [int(this_by_category.get(c, 0)) for c in categories]
    per_category["previous_week"] = [int(prev_by_category.get(c, 0)) for c in categories]
    per_category["change"] = per_category["this_week"] - per_category["previous_week"]
    per_category["change_pct"] = [
        change_pct(a, b) for a, b in zip(per_category["this_week"], per_category["previous_week"], strict=True)
    ]

    active = [c for c in categories if this_by_category.get(c, 0)]
    flagged_by_day = _per_day(flags_this, days, "category", active)
    flagged_daily = pd.DataFrame({"date": [f"{d:%Y-%m-%d}" for d in days]})
    for category in active:
        flagged_daily[category] = flagged_by_day[category].to_numpy()
    flagged_daily["total"] = flagged_by_day.sum(axis=1).to_numpy() if active else 0

    charts = [
        ChartSpec(
            "posts_by_day_source",
            "每日发布量(按来源) Posts per day by source",
            "stacked_bar",
            by_day.set_axis(labels, axis=0),
            "帖子 posts",
        ),
        ChartSpec(
            "posts_vs_previous",
            "本周与上周 This week vs previous week",
            "line",
            pd.DataFrame(
                {
                    "本周 this week": daily["total"].to_numpy(),
                    "上周 previous week": daily["previous_week"].to_numpy(),
                },
                index=labels,
            ),
            "帖子 posts",
        ),
    ]
    if active:
        charts.append(
            ChartSpec(
                "flagged_by_day_category",
                "每日预警帖子(按类别) Flagged posts per day by category",
                "stacked_bar",
                flagged_by_day.set_axis(labels, axis=0),
                "帖子 posts",
            )
        )
    return Section(
        key="volume",
        title="发布量 Volume",
        intro=(
            f"本周共采集 {len(this)} 条帖子(上周 {len(previous)} 条),"
            f"其中 {this['flagged'].map(bool).sum()} 条"
            " 触发风险预警。按发布时间(北京时间)计。"
        ),
        tables=[
            Table(
                "posts_per_day",
                "每日发布量 Posts per day",
                daily,
                "Per source by publication day; previous week = the same weekday a week earlier.",
            ),
            Table("posts_by_source", "按来源 Posts by source", per_source),
            Table(
                "flagged_by_category",
                "按类别的预警帖子 Flagged posts by category",
                per_category,
                "A post flagged in two categories counts in both.",
            ),
            Table("flagged_per_day", "每日预警帖子 Flagged posts per day", flagged_daily),
        ],
        charts=charts,
        findings=_category_findings(inputs, per_category, flags_this),
    )


def _category_findings(inputs: ReportInputs, per_category: pd.DataFrame, flags_this: pd.DataFrame) -> list[Finding]:
    findings: list[Finding] = []
    for row in per_category.itertuples():
        rise = row.this_week - row.previous_week
        if rise < MIN_RISE or row.this_week < RISE_RATIO * row.previous_week:
            continue
        top = flags_this[flags_this["category"] == row.category].sort_values(
            ["max_risk", "id"], ascending=[False, True]
        )
        before = f"{row.previous_week}" if row.previous_week else "0"
        pct = f" (+{row.change_pct:.0f}%)" if row.change_pct is not None else " (上周无 none last week)"
        life = 10 if row.category in LIFE_SAFETY_CATEGORIES else 0
        findings.append(
            Finding(
                key=f"volume.category_rise.{row.category}",
                headline=(
                    f"{row.category_zh}预警帖子由 {before} 条增至 {row.this_week} 条{pct}"
                    f" — {row.category} flags rose from {before} to {row.this_week}"
                ),
                weight=60 + life + min(25.0, rise),
                figures={
                    "category": row.category,
                    "this_week": row.this_week,
                    "previous_week": row.previous_week,
                },
                examples=inputs.post_links(list(top["id"].head(3)), detail=row.category),
            )
        )
    return findings
