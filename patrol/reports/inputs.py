"""Everything a report's sections read, gathered once: post frames, workflow frames, crawl runs, names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import pandas as pd

from patrol.reports.model import Link
from patrol.reports.pseudonyms import AuthorNames
from patrol.reports.week import REPORT_ZONE, ReportWeek
from patrol.reports.workflow_data import WorkflowFrames

#: Weeks before the report's week that rising topics are compared against.
HISTORY_WEEKS = 4
LABEL_CHARS = 60


@dataclass
class ReportInputs:
    week: ReportWeek
    posts: pd.DataFrame
    workflow: WorkflowFrames
    runs: pd.DataFrame
    authors: AuthorNames
    unit_names: dict[str, str] = field(default_factory=dict)
    configured_sources: list[str] = field(default_factory=list)
    dismiss_labels: dict[str, str] = field(default_factory=dict)
    place_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.posts = with_local_columns(self.posts, self.week)

    def week_posts(self, offset: int = 0) -> pd.DataFrame:
        """Posts of the report's week (0), the week before (-1), and so on."""
        return self.posts[self.posts["week_offset"] == offset]

    def unit_name(self, unit_id: str | None) -> str:
        if not unit_id:
            return "(无 none)"
        return self.unit_names.get(unit_id, unit_id)

    def post_link(self, row: Any, detail: str = "") -> Link:
        title = row.title if isinstance(row.title, str) and row.title.strip() else row.snippet
        label = " ".join(str(title or row.id).split())
        if len(label) > LABEL_CHARS:
            label = label[: LABEL_CHARS - 1] + "…"
        return Link(
            label=label,
            url=str(row.url),
            source_id=str(row.source_id),
            when=f"{row.local_time:%Y-%m-%d %H:%M}",
            author=self.authors(str(row.source_id), row.author if isinstance(row.author, str) else None),
            post_id=str(row.id),
            detail=detail,
        )

    @cached_property
    def _posts_by_id(self) -> pd.DataFrame:
        return self.posts.set_index("id", drop=False).rename_axis(None)

    def post_links(self, post_ids: list[str], detail: str = "") -> list[Link]:
        """Links for these posts, in the given order; posts outside the window are left out."""
        indexed = self._posts_by_id
        return [self.post_link(indexed.loc[pid], detail) for pid in post_ids if pid in indexed.index]


def with_local_columns(posts: pd.DataFrame, week: ReportWeek) -> pd.DataFrame:
    frame = posts.copy()
    frame["local_time"] = frame["published_at"].dt.tz_convert(REPORT_ZONE)
    frame["local_day"] = frame["local_time"].dt.date
    first = pd.Timestamp(week.first_day)
    days = (pd.to_datetime(frame["local_day"]) - first).dt.days
    frame["week_offset"] = (days // 7).astype(int)
    return frame


def local_days(values: pd.Series) -> pd.Series:
    """UTC timestamps as Asia/Shanghai calendar days."""
    return values.dt.tz_convert(REPORT_ZONE).dt.date


def in_week(values: pd.Series, week: ReportWeek) -> pd.Series:
    start, end = pd.Timestamp(week.start_utc), pd.Timestamp(week.end_utc)
    return (values >= start) & (values < end)


def change_pct(this: float, previous: float) -> float | None:
    """Week-on-week change in percent; None when there is nothing to compare with."""
    if previous == 0:
        return None
    return round((this - previous) / previous * 100, 1)


def day_labels(days: list[date]) -> list[str]:
    names = "一二三四五六日"
    return [f"{d:%m-%d} 周{names[d.weekday()]}" for d in days]
