"""Places: posts per jurisdiction unit, with the week-on-week change."""

from __future__ import annotations

import pandas as pd

from patrol.reports.inputs import ReportInputs, change_pct
from patrol.reports.model import ChartSpec, Finding, Section, Table

NO_UNIT = "(none)"
HOTSPOT_MIN_POSTS = 5
HOTSPOT_RATIO = 1.5


def places_section(inputs: ReportInputs) -> Section:
    this, previous = inputs.week_posts(0), inputs.week_posts(-1)
    this_units = this["jurisdiction"].fillna(NO_UNIT)
    prev_units = previous["jurisdiction"].fillna(NO_UNIT)
    this_counts, prev_counts = this_units.value_counts(), prev_units.value_counts()
    flagged_counts = this_units[this["flagged"].map(bool)].value_counts()
    units = sorted(set(inputs.unit_names) | set(this_counts.index) | set(prev_counts.index))
    frame = pd.DataFrame(
        {
            "unit": units,
            "unit_name": [inputs.unit_name(None if u == NO_UNIT else u) for u in units],
            "this_week": [int(this_counts.get(u, 0)) for u in units],
            "previous_week": [int(prev_counts.get(u, 0)) for u in units],
            "flagged_posts": [int(flagged_counts.get(u, 0)) for u in units],
        }
    )
    frame["change"] = frame["this_week"] - frame["previous_week"]
    frame["change_pct"] = [change_pct(a, b) for a, b in zip(frame["this_week"], frame["previous_week"], strict=True)]
    frame = frame.sort_values(["this_week", "unit"], ascending=[False, True]).reset_index(drop=True)
    frame = frame[["unit", "unit_name", "this_week", "previous_week", "change", "change_pct", "flagged_posts"]]

    shown = frame[(frame["this_week"] > 0) | (frame["previous_week"] > 0)]
    charts = []
    if len(shown):
        charts.append(
            ChartSpec(
                "posts_by_unit",
                "各辖区帖子 Posts by jurisdiction unit",
                "barh",
                pd.DataFrame(
                    {
                        "本周 this week": shown["this_week"].to_numpy(),
                        "上周 previous week": shown["previous_week"].to_numpy(),
                    },
                    index=list(shown["unit_name"]),
                ),
                "帖子 posts",
            )
        )
    located = int((this_units != NO_UNIT).sum())
    return Section(
        key="places",
        title="地点 Places",
        intro=(
            f"本周 {located} 条帖子可定位到辖区单位(共 {len(this)} 条)。辖区按帖子中最具体的地名确定。"
            " Jurisdiction is the unit of the most specific place a post names."
        ),
        tables=[Table("posts_by_unit", "各辖区帖子 Posts by jurisdiction unit", frame)],
        charts=charts,
        findings=_hotspots(inputs, frame, this),
    )


def _hotspots(inputs: ReportInputs, frame: pd.DataFrame, this: pd.DataFrame) -> list[Finding]:
    candidates = frame[
        (frame["unit"] != NO_UNIT)
        & (frame["this_week"] >= HOTSPOT_MIN_POSTS)
        & (frame["this_week"] >= HOTSPOT_RATIO * frame["previous_week"])
        & (frame["change"] >= 3)
    ].sort_values(["change", "unit"], ascending=[False, True])
    if candidates.empty:
        return []
    row = candidates.iloc[0]
    posts = this[this["jurisdiction"] == row["unit"]].sort_values(
        ["max_risk", "published_at", "id"], ascending=[False, False, True]
    )
    pct = f"+{row['change_pct']:.0f}%" if row["change_pct"] is not None and not pd.isna(row["change_pct"]) else "上周无"
    return [
        Finding(
            key=f"places.hotspot.{row['unit']}",
            headline=(
                f"{row['unit_name']}辖区帖子由 {row['previous_week']} 条增至 {row['this_week']} 条({pct}),"
                f"其中预警 {row['flagged_posts']} 条 — posts in {row['unit']} up from {row['previous_week']}"
                f" to {row['this_week']}"
            ),
            weight=35 + min(15.0, float(row["change"])),
            figures={
                "unit": row["unit"],
                "this_week": int(row["this_week"]),
                "previous_week": int(row["previous_week"]),
            },
            examples=inputs.post_links(list(posts["id"].head(3))),
        )
    ]
