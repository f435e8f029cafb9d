"""Sentiment: the mean score and label shares by day, and by topic."""

from __future__ import annotations

from datetime import date

import pandas as pd

from patrol.reports.inputs import ReportInputs, day_labels
from patrol.reports.model import ChartSpec, Section, Table
from patrol.reports.sections.topics import TOP_TOPICS
from patrol.reports.topics import WeekTopics

LABELS = ("negative", "neutral", "positive")


def _daily(posts: pd.DataFrame, days: list[date]) -> pd.DataFrame:
    index = pd.Index(days)
    totals = posts.groupby("local_day").size().reindex(index, fill_value=0).astype(int)
    means = posts.groupby("local_day")["sentiment"].mean().reindex(index).round(3)
    # crosstab of an empty frame has no index to reindex
    labels = pd.crosstab(posts["local_day"], posts["sentiment_label"]) if len(posts) else pd.DataFrame()
    labels = labels.reindex(index=index, columns=list(LABELS), fill_value=0).astype(int)
    frame = pd.DataFrame({"date": [f"{d:%Y-%m-%d}" for d in days], "posts": totals.to_numpy()})
    frame["mean_sentiment"] = [None if pd.isna(v) else float(v) for v in means.to_numpy()]
    for label in LABELS:
        frame[label] = labels[label].to_numpy()
    frame["negative_share"] = [
        round(n / t, 3) if t else None for n, t in zip(frame["negative"], frame["posts"], strict=True)
    ]
    return frame


def sentiment_section(inputs: ReportInputs, found: WeekTopics) -> Section:
    week = inputs.week
    this, previous = inputs.week_posts(0), inputs.week_posts(-1)
    daily = _daily(this, week.days)
    previous_daily = _daily(previous, week.shifted(-1).days)
    daily["previous_week_mean"] = previous_daily["mean_sentiment"].to_numpy()

    by_topic = pd.DataFrame(
        [
            {
                "topic": t.label,
                "posts": t.volume,
                "mean_sentiment": t.mean_sentiment,
                "negative_share": t.negative_share,
            }
            for t in found.top(TOP_TOPICS)
        ],
        columns=["topic", "posts", "mean_sentiment", "negative_share"],
    )
    mean_this = round(float(this["sentiment"].mean()), 3) if len(this) else None
    mean_prev = round(float(previous["sentiment"].mean()), 3) if len(previous) else None
    labels = day_labels(week.days)
    chart = pd.DataFrame(
        {
            "本周 this week": daily["mean_sentiment"].astype(float).to_numpy(),
            "上周 previous week": daily["previous_week_mean"].astype(float).to_numpy(),
        },
        index=labels,
    )
    return Section(
        key="sentiment",
        title="情感 Sentiment",
        intro=(
            f"本周平均情感 {_fmt(mean_this)}(上周 {_fmt(mean_prev)});情感分值 −1(负面)至 +1(正面)。"
            " Mean sentiment in −1 (negative) .. +1 (positive)."
        ),
        tables=[
            Table("sentiment_by_day", "每日情感 Sentiment by day", daily),
            Table("sentiment_by_topic", "话题情感 Sentiment by topic", by_topic),
        ],
        charts=[
            ChartSpec(
                "sentiment_by_day",
                "每日平均情感 Mean sentiment by day",
                "line",
                chart,
                "情感 sentiment",
                zero_based=False,
            )
        ],
    )


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"
