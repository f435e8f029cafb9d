"""The report as plain data: sections of tables, chart specs, example links and findings.

The sections compute these from the frames; the HTML, PDF and XLSX writers only lay them out, so
the three formats always carry the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from patrol.reports.week import ReportWeek


@dataclass(frozen=True)
class Link:
    """An example behind a figure: a post (or a page a crawl failed on) a reader can open."""

    label: str
    url: str
    source_id: str = ""
    when: str = ""
    author: str | None = None
    post_id: str | None = None
    detail: str = ""

    def as_row(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "url": self.url,
            "source": self.source_id,
            "time": self.when,
            "author": self.author or "",
            "post_id": self.post_id or "",
            "detail": self.detail,
        }


@dataclass
class Finding:
    """A thing the reader should know, with its numbers; the summary shows the three weightiest."""

    key: str
    headline: str
    weight: float
    figures: dict[str, Any] = field(default_factory=dict)
    examples: list[Link] = field(default_factory=list)


@dataclass
class Table:
    key: str
    title: str
    frame: pd.DataFrame
    note: str = ""


ChartKind = Literal["bar", "stacked_bar", "line", "barh"]


@dataclass
class ChartSpec:
    """What to draw: `frame`'s index is the x axis (categories or days), each column a series."""

    key: str
    title: str
    kind: ChartKind
    frame: pd.DataFrame
    y_label: str = ""
    zero_based: bool = True  # counts start at zero; a sentiment line may not


@dataclass
class LinkList:
    title: str
    links: list[Link]


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    link_lists: list[LinkList] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class HeadlineFigure:
    key: str
    label: str
    this_week: int
    previous_week: int


@dataclass
class WeeklyReport:
    week: ReportWeek
    generated_at: datetime
    store: str
    headline: list[HeadlineFigure]
    key_findings: list[Finding]
    sections: list[Section]
    pseudonymised: bool = True

    @property
    def title(self) -> str:
        return f"舆情周报 Weekly opinion-trend report {self.week.label}"

    @property
    def period(self) -> str:
        last = self.week.days[-1]
        return f"{self.week.first_day:%Y-%m-%d} – {last:%Y-%m-%d} (Asia/Shanghai)"


#: Display names of table columns: Chinese first, for the analysts, then the English key.
COLUMN_LABELS: dict[str, str] = {
    "date": "日期 date",
    "weekday": "星期 weekday",
    "source": "来源 source",
    "category": "类别 category",
    "category_zh": "类别名 name",
    "unit": "单位 unit",
    "unit_name": "单位名 unit name",
    "this_week": "本周 this week",
    "previous_week": "上周 previous week",
    "change": "变化 change",
    "change_pct": "变化% change %",
    "posts": "帖子 posts",
    "flagged_posts": "预警帖子 flagged posts",
    "total": "合计 total",
    "mean_sentiment": "平均情感 mean sentiment",
    "negative": "负面 negative",
    "neutral": "中性 neutral",
    "positive": "正面 positive",
    "negative_share": "负面占比 negative share",
    "topic": "话题 topic",
    "keywords": "关键词 keywords",
    "status": "状态 status",
    "baseline_per_week": "前四周周均 4-week mean",
    "growth": "增长倍数 growth ×",
    "rank": "排名 rank",
    "items": "条目 items",
    "life_safety": "生命安全 life-safety",
    "reason": "原因 reason",
    "reason_label": "原因说明 reason label",
    "escalated": "转核查 escalated",
    "outcome": "结果 outcome",
    "tasks": "任务 tasks",
    "completed": "完成 completed",
    "confirmed": "属实 confirmed",
    "unfounded": "不属实 unfounded",
    "referred": "移交 referred",
    "unreachable": "无法核实 unreachable",
    "verified": "已核实 verified",
    "precision": "准确率 precision",
    "measure": "指标 measure",
    "count": "数量 count",
    "p50_minutes": "中位数(分钟) p50 min",
    "p90_minutes": "P90(分钟) p90 min",
    "kind": "类型 kind",
    "breaches": "超时 breaches",
    "runs": "采集次数 runs",
    "failed_runs": "失败次数 failed runs",
    "crawled_items": "采集条数 items crawled",
    "new_items": "新增 new items",
    "errors": "错误 errors",
    "error_kinds": "错误类型 error kinds",
    "degraded_days": "降级天数 degraded days",
    "day_status": "当日状态 day status",
    "matches": "命中 matches",
    "groups": "去重组 groups",
    "metric": "指标 metric",
    "label": "标题 title",
    "url": "链接 link",
    "time": "时间 time",
    "author": "作者(化名) author (pseudonym)",
    "post_id": "帖子ID post id",
    "detail": "说明 detail",
    "scheme": "方案 scheme",
    "share": "占比 share",
    "previous_week_mean": "上周平均 previous week mean",
    "task_acknowledge": "签收超时 task acknowledge",
    "task_dispatch": "出警超时 task dispatch",
    "task_verify": "核查超时 task verify",
    "item_acknowledge": "生命安全确认超时 life-safety acknowledge",
    "handover_acknowledge": "交班确认超时 handover acknowledge",
}


def column_label(key: str) -> str:
    return COLUMN_LABELS.get(key, key)
