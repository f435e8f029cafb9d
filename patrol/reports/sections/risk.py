"""Risk and verification: review items by category, dismiss reasons, escalations, outcomes, precision,
time to acknowledge and to verify, and SLA breaches by unit.

Each figure counts what happened in the week: items opened in it, decided in it, tasks created,
accepted or completed in it, breaches detected in it.
"""

from __future__ import annotations

import pandas as pd

from patrol.reports.inputs import ReportInputs, in_week
from patrol.reports.model import ChartSpec, Finding, Link, Section, Table
from patrol.schema import CATEGORY_LABELS_ZH, LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES

OUTCOMES = ("confirmed", "unfounded", "referred", "unreachable")
#: Outcomes where the unit established the facts; `unreachable` is not a verification.
VERIFIED_OUTCOMES = ("confirmed", "unfounded", "referred")
BREACH_COLUMNS = (
    "task_acknowledge",
    "task_dispatch",
    "task_verify",
    "item_acknowledge",
    "handover_acknowledge",
)


def _minutes(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.total_seconds() / 60


def percentile_row(measure: str, scope: str, minutes: pd.Series) -> dict[str, object]:
    # A task reassigned after it was accepted restarts its clock: its old acceptance precedes the new
    # assignment and measures nothing, so negative spans are left out.
    values = minutes.dropna()
    values = values[values >= 0]
    return {
        "measure": measure,
        "category": scope,
        "count": len(values),
        # Linear interpolation between closest ranks (numpy's default), in minutes.
        "p50_minutes": round(float(values.quantile(0.5)), 1) if len(values) else None,
        "p90_minutes": round(float(values.quantile(0.9)), 1) if len(values) else None,
    }


def risk_section(inputs: ReportInputs) -> Section:
    week, frames = inputs.week, inputs.workflow
    items, tasks, breaches = frames.items, frames.tasks, frames.breaches
    opened = items[in_week(items["created_at"], week)]
    opened_before = items[in_week(items["created_at"], week.shifted(-1))]
    categories = list(RISK_CATEGORIES)

    by_category = pd.DataFrame({"category": categories, "category_zh": [CATEGORY_LABELS_ZH[c] for c in categories]})
    opened_counts = opened.groupby("category").size()
    by_category["items"] = [int(opened_counts.get(c, 0)) for c in categories]
    life = opened[opened["life_safety"].astype(bool)].groupby("category").size()
    by_category["life_safety"] = [int(life.get(c, 0)) for c in categories]
    before = opened_before.groupby("category").size()
    by_category["previous_week"] = [int(before.get(c, 0)) for c in categories]
    by_category["change"] = by_category["items"] - by_category["previous_week"]

    dismissed = items[(items["status"] == "dismissed") & in_week(items["resolved_at"], week)]
    reasons = dismissed.groupby("dismiss_reason").size().sort_index()
    dismiss = pd.DataFrame(
        {
            "reason": list(reasons.index),
            "reason_label": [inputs.dismiss_labels.get(r, "") for r in reasons.index],
            "items": [int(n) for n in reasons.to_numpy()],
        },
        columns=["reason", "reason_label", "items"],
    ).sort_values(["items", "reason"], ascending=[False, True])

    created = tasks[in_week(tasks["created_at"], week)]
    created_before = tasks[in_week(tasks["created_at"], week.shifted(-1))]
    esc_now, esc_before = created.groupby("category").size(), created_before.groupby("category").size()
    escalations = pd.DataFrame({"category": categories, "category_zh": [CATEGORY_LABELS_ZH[c] for c in categories]})
    escalations["escalated"] = [int(esc_now.get(c, 0)) for c in categories]
    escalations["previous_week"] = [int(esc_before.get(c, 0)) for c in categories]
    by_unit_counts = created.groupby("unit_id").size()
    escalations_by_unit = pd.DataFrame(
        {
            "unit": list(by_unit_counts.index),
            "unit_name": [inputs.unit_name(u) for u in by_unit_counts.index],
            "tasks": [int(n) for n in by_unit_counts.to_numpy()],
        },
        columns=["unit", "unit_name", "tasks"],
    ).sort_values(["tasks", "unit"], ascending=[False, True])

    completed = tasks[(tasks["status"] == "completed") & in_week(tasks["completed_at"], week)]
    outcome_counts = completed.groupby("outcome").size()
    outcomes = pd.DataFrame({"outcome": list(OUTCOMES)})
    outcomes["tasks"] = [int(outcome_counts.get(o, 0)) for o in OUTCOMES]
    total_completed = int(outcomes["tasks"].sum())
    outcomes["share"] = [round(n / total_completed, 3) if total_completed else None for n in outcomes["tasks"]]

    precision = _precision(completed, categories)
    times = _times(inputs, items, tasks)
    sla = _breaches(inputs, breaches)

    charts = []
    if int(by_category["items"].sum()):
        shown = by_category[by_category["items"] > 0]
        charts.append(
            ChartSpec(
                "items_by_category",
                "预警条目(按类别) Review items by category",
                "bar",
                pd.DataFrame(
                    {
                        "本周 this week": shown["items"].to_numpy(),
                        "上周 previous week": shown["previous_week"].to_numpy(),
                    },
                    index=list(shown["category_zh"]),
                ),
                "条目 items",
            )
        )
    if total_completed:
        charts.append(
            ChartSpec(
                "outcomes",
                "核查结果 Verification outcomes",
                "bar",
                pd.DataFrame({"任务 tasks": outcomes["tasks"].to_numpy()}, index=list(OUTCOMES)),
                "任务 tasks",
            )
        )
    return Section(
        key="risk",
        title="风险与核查 Risk and verification",
        intro=(
            f"本周新增预警条目 {len(opened)} 条,转线下核查 {len(created)} 起,完成核查 {total_completed} 起,"
            f"SLA 超时 {len(breaches[in_week(breaches['detected_at'], week)])} 次。"
        ),
        tables=[
            Table(
                "items_by_category",
                "预警条目(按类别) Review items by category",
                by_category,
                "Review items opened this week: one per near-duplicate group and category.",
            ),
            Table("dismiss_reasons", "排除原因 Dismiss reasons", dismiss, "Items dismissed this week."),
            Table(
                "escalations",
                "转核查(按类别) Escalations by category",
                escalations,
                "Verification tasks created this week.",
            ),
            Table("escalations_by_unit", "转核查(按单位) Escalations by unit", escalations_by_unit),
            Table("outcomes", "核查结果 Outcomes", outcomes, "Tasks completed this week, by outcome."),
            Table(
                "precision",
                "各类别准确率 Precision by category",
                precision,
                "precision = confirmed ÷ verified; verified = completed as confirmed, unfounded or referred"
                " (unreachable is not a verification).",
            ),
            Table(
                "response_times",
                "签收与核查用时 Time to acknowledge and verify",
                times,
                "acknowledge: task assigned → accepted (tasks accepted this week); verify: assigned →"
                " completed (tasks completed this week); life-safety: item opened → acknowledged.",
            ),
            Table("sla_breaches", "SLA 超时(按单位) SLA breaches by unit", sla, "Breaches detected this week."),
        ],
        charts=charts,
        findings=_findings(inputs, opened, completed, breaches, times),
    )


def _precision(completed: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    rows = []
    for category in [*categories, "all"]:
        mine = completed if category == "all" else completed[completed["category"] == category]
        counts = mine.groupby("outcome").size()
        row: dict[str, object] = {"category": category, "completed": len(mine)}
        for outcome in OUTCOMES:
            row[outcome] = int(counts.get(outcome, 0))
        verified = sum(int(counts.get(o, 0)) for o in VERIFIED_OUTCOMES)
        row["verified"] = verified
        row["precision"] = round(int(counts.get("confirmed", 0)) / verified, 3) if verified else None
        if category == "all" or len(mine):
            rows.append(row)
    return pd.DataFrame(rows, columns=["category", "completed", *OUTCOMES, "verified", "precision"])


def _times(inputs: ReportInputs, items: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    week = inputs.week
    accepted = tasks[in_week(tasks["accepted_at"], week)]
    completed = tasks[(tasks["status"] == "completed") & in_week(tasks["completed_at"], week)]
    acknowledged = items[items["life_safety"].astype(bool) & in_week(items["acknowledged_at"], week)]
    rows = [
        percentile_row("acknowledge", "all", _minutes(accepted["accepted_at"], accepted["assigned_at"])),
        percentile_row("verify", "all", _minutes(completed["completed_at"], completed["assigned_at"])),
        percentile_row(
            "life_safety_acknowledge",
            "all",
            _minutes(acknowledged["acknowledged_at"], acknowledged["created_at"]),
        ),
    ]
    for category in RISK_CATEGORIES:
        mine_accepted = accepted[accepted["category"] == category]
        mine_completed = completed[completed["category"] == category]
        if len(mine_accepted):
            rows.append(
                percentile_row(
                    "acknowledge",
                    category,
                    _minutes(mine_accepted["accepted_at"], mine_accepted["assigned_at"]),
                )
            )
        if len(mine_completed):
            rows.append(
                percentile_row(
                    "verify",
                    category,
                    _minutes(mine_completed["completed_at"], mine_completed["assigned_at"]),
                )
            )
    return pd.DataFrame(rows, columns=["measure", "category", "count", "p50_minutes", "p90_minutes"])


def _breaches(inputs: ReportInputs, breaches: pd.DataFrame) -> pd.DataFrame:
    mine = breaches[in_week(breaches["detected_at"], inputs.week)].copy()
    mine["unit"] = mine["unit_id"].fillna("(none)")
    mine["column"] = mine["subject_type"] + "_" + mine["kind"]
    rows = []
    for unit, group in mine.groupby("unit"):
        counts = group["column"].value_counts()
        row: dict[str, object] = {
            "unit": unit,
            "unit_name": inputs.unit_name(None if unit == "(none)" else str(unit)),
            "breaches": len(group),
        }
        row.update({column: int(counts.get(column, 0)) for column in BREACH_COLUMNS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["unit", "unit_name", "breaches", *BREACH_COLUMNS])
    return frame.sort_values(["breaches", "unit"], ascending=[False, True]).reset_index(drop=True)


def _item_links(inputs: ReportInputs, items: pd.DataFrame, detail_of: dict[str, str] | None = None) -> list[Link]:
    """Up to three example posts of these items (life-safety first, then oldest), each post once."""
    ordered = items.sort_values(["life_safety", "created_at", "id"], ascending=[False, True, True])
    links: list[Link] = []
    seen: set[str] = set()
    for row in ordered.itertuples():
        post_id = str(row.first_post_id)
        if post_id in seen:
            continue
        seen.add(post_id)
        links += inputs.post_links([post_id], detail=(detail_of or {}).get(str(row.id), str(row.category)))
        if len(links) == 3:
            break
    return links


def _findings(
    inputs: ReportInputs,
    opened: pd.DataFrame,
    completed: pd.DataFrame,
    breaches: pd.DataFrame,
    times: pd.DataFrame,
) -> list[Finding]:
    findings: list[Finding] = []
    items = inputs.workflow.items.set_index("id", drop=False).rename_axis(None)
    confirmed = completed[completed["outcome"] == "confirmed"]
    if len(confirmed):
        per_category = confirmed.groupby("category").size().sort_values(ascending=False)
        parts = "、".join(f"{CATEGORY_LABELS_ZH.get(c, c)} {n}" for c, n in per_category.items())
        life = int(confirmed["category"].isin(LIFE_SAFETY_CATEGORIES).sum())
        confirmed_items = items.loc[[i for i in confirmed["item_id"] if i in items.index]]
        findings.append(
            Finding(
                key="risk.confirmed",
                headline=(
                    f"本周线下核查属实 {len(confirmed)} 起({parts}) — {len(confirmed)} verification tasks confirmed"
                ),
                weight=100 + 15 * life + len(confirmed),
                figures={"confirmed": len(confirmed), **{str(c): int(n) for c, n in per_category.items()}},
                examples=_item_links(
                    inputs,
                    confirmed_items,
                    {str(t.item_id): f"{t.category}, {t.unit_id}" for t in confirmed.itertuples()},
                ),
            )
        )
    life_items = opened[opened["life_safety"].astype(bool)]
    if len(life_items):
        per_category = life_items.groupby("category").size()
        parts = "、".join(f"{CATEGORY_LABELS_ZH.get(c, c)} {n}" for c, n in per_category.items())
        ack = times[(times["measure"] == "life_safety_acknowledge") & (times["category"] == "all")]
        p50 = ack["p50_minutes"].iloc[0] if len(ack) else None
        ack_text = f",确认用时中位数 {p50:g} 分钟" if p50 is not None and not pd.isna(p50) else ""
        findings.append(
            Finding(
                key="risk.life_safety",
                headline=(
                    f"本周生命安全类预警 {len(life_items)} 条({parts}){ack_text}"
                    f" — {len(life_items)} life-safety items opened"
                ),
                weight=80 + len(life_items),
                figures={"life_safety_items": len(life_items), "ack_p50_minutes": p50},
                examples=_item_links(inputs, life_items),
            )
        )
    week_breaches = breaches[in_week(breaches["detected_at"], inputs.week)]
    if len(week_breaches):
        per_unit = week_breaches["unit_id"].fillna("(none)").value_counts()
        worst = str(sorted(per_unit.items(), key=lambda kv: (-kv[1], kv[0]))[0][0])
        worst_name = inputs.unit_name(None if worst == "(none)" else worst)
        tasks = inputs.workflow.tasks.set_index("id", drop=False)
        item_ids = [
            str(tasks.at[b.subject_id, "item_id"])
            if b.subject_type == "task" and b.subject_id in tasks.index
            else str(b.subject_id)
            for b in week_breaches.itertuples()
        ]
        breached_items = items.loc[[i for i in dict.fromkeys(item_ids) if i in items.index]]
        findings.append(
            Finding(
                key="risk.sla",
                headline=(
                    f"本周 SLA 超时 {len(week_breaches)} 次,最多为{worst_name}"
                    f"({int(per_unit[worst])} 次) — {len(week_breaches)} SLA deadlines missed"
                ),
                weight=55 + min(20, len(week_breaches)),
                figures={
                    "breaches": len(week_breaches),
                    "worst_unit": worst,
                    "worst_unit_breaches": int(per_unit[worst]),
                },
                examples=_item_links(inputs, breached_items),
            )
        )
    return findings
