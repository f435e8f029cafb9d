"""Collection coverage: per source, how many crawls ran, failed, collected and erred, and on which days
collection was degraded, so a quiet week is not mistaken for a quiet district."""

from __future__ import annotations

import pandas as pd

from patrol.reports.inputs import ReportInputs, in_week, local_days
from patrol.reports.model import Finding, Link, Section, Table
from patrol.reports.sections.volume import sources_of

DEGRADED_FINDING_DAYS = 2
DAY_STATUS = {"ok": "正常 ok", "errors": "有错误 errors", "failed": "失败 failed", "no_run": "未运行 no run"}


def _day_status(runs: pd.DataFrame) -> str:
    if runs.empty:
        return "no_run"
    if not runs["ok"].any():
        return "failed"
    if runs["errors"].sum() > 0 or not runs["ok"].all():
        return "errors"
    return "ok"


def coverage_section(inputs: ReportInputs) -> Section:
    week = inputs.week
    runs = inputs.runs[in_week(inputs.runs["started_at"], week)].copy()
    runs["local_day"] = local_days(runs["started_at"])
    this, previous = inputs.week_posts(0), inputs.week_posts(-1)
    posts_now, posts_before = this.groupby("source_id").size(), previous.groupby("source_id").size()
    sources = sorted(set(sources_of(inputs)) | set(runs["source_id"]))

    rows, grid_rows = [], []
    findings: list[Finding] = []
    for source in sources:
        mine = runs[runs["source_id"] == source]
        statuses = {day: _day_status(mine[mine["local_day"] == day]) for day in week.days}
        degraded = sum(1 for s in statuses.values() if s != "ok")
        kinds = sorted({kind for kinds in mine["error_kinds"] for kind in kinds})
        errors, failed = int(mine["errors"].sum()), int((~mine["ok"].astype(bool)).sum())
        rows.append(
            {
                "source": source,
                "runs": len(mine),
                "failed_runs": failed,
                "crawled_items": int(mine["items"].sum()),
                "new_items": int(mine["new_items"].sum()),
                "errors": errors,
                "error_kinds": ", ".join(kinds),
                "degraded_days": degraded,
                "posts": int(posts_now.get(source, 0)),
                "previous_week": int(posts_before.get(source, 0)),
            }
        )
        grid_rows.append({"source": source, **{f"{d:%m-%d}": DAY_STATUS[s] for d, s in statuses.items()}})
        if len(runs) and degraded >= DEGRADED_FINDING_DAYS:
            urls = [url for urls in mine["error_urls"] for url in urls]
            examples = [
                Link(label=f"{source}: {', '.join(kinds) or '未运行 no run'}", url=u, source_id=source)
                for u in dict.fromkeys(urls)
            ][:3]
            findings.append(
                Finding(
                    key=f"coverage.degraded.{source}",
                    headline=(
                        f"来源 {source} 本周有 {degraded} 天采集异常(错误 {errors} 个,失败 {failed} 次),"
                        f"其数据偏少 — collection from {source} was degraded on {degraded} of 7 days:"
                        " its figures undercount"
                    ),
                    weight=65 + degraded,
                    figures={
                        "source": source,
                        "degraded_days": degraded,
                        "errors": errors,
                    },
                    examples=examples,
                )
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "source",
            "runs",
            "failed_runs",
            "crawled_items",
            "new_items",
            "errors",
            "error_kinds",
            "degraded_days",
            "posts",
            "previous_week",
        ],
    )
    grid = pd.DataFrame(grid_rows, columns=["source", *(f"{d:%m-%d}" for d in week.days)])
    failed_total = int((~runs["ok"].astype(bool)).sum())
    notes = [
        "降级日:当天未运行采集、全部失败或报告了错误;该来源当日数据可能偏少。 A degraded day: no crawl ran,"
        " every crawl failed, or crawls reported errors; that source's figures undercount on it."
    ]
    if runs.empty:
        notes.append(
            "本周没有采集运行记录(帖子可能来自导入),无法判断采集覆盖。 No crawl runs were recorded this week"
            " (posts may have been imported): coverage cannot be judged."
        )
        findings.append(
            Finding(
                key="coverage.no_runs",
                headline="本周没有采集运行记录,各项数字不能说明辖区平静 — no crawl runs recorded this week",
                weight=75,
            )
        )
    return Section(
        key="coverage",
        title="采集覆盖 Collection coverage",
        intro=f"本周 {len(sources)} 个来源共运行采集 {len(runs)} 次,失败 {failed_total} 次。",
        tables=[
            Table("coverage_by_source", "各来源采集情况 Collection by source", table),
            Table("coverage_by_day", "每日采集状态 Collection status by day", grid),
        ],
        notes=notes,
        findings=findings,
    )
