"""Topics: the week's biggest topics and its rising ones, each with keywords, volume, sentiment and
three representative posts."""

from __future__ import annotations

import pandas as pd

from patrol.reports.inputs import HISTORY_WEEKS, ReportInputs
from patrol.reports.model import ChartSpec, Finding, LinkList, Section, Table
from patrol.reports.topics import Topic, TopicSettings, WeekTopics, describe_topic

TOP_TOPICS = 10
RISING_TOPICS = 10

STATUS_LABELS = {
    "new": "新出现 new",
    "rising": "上升 rising",
    "steady": "平稳 steady",
    "falling": "下降 falling",
    "no_history": "无历史 no history",
}


def _table(topics: list[Topic]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "rank": rank,
                "topic": topic.label,
                "keywords": "、".join(topic.keywords),
                "posts": topic.volume,
                "baseline_per_week": round(topic.baseline, 2),
                "growth": topic.growth,
                "status": STATUS_LABELS[topic.status],
                "mean_sentiment": topic.mean_sentiment,
                "negative_share": topic.negative_share,
            }
            for rank, topic in enumerate(topics, start=1)
        ],
        columns=[
            "rank",
            "topic",
            "keywords",
            "posts",
            "baseline_per_week",
            "growth",
            "status",
            "mean_sentiment",
            "negative_share",
        ],
    )


def topics_section(inputs: ReportInputs, found: WeekTopics, settings: TopicSettings | None = None) -> Section:
    week_posts = inputs.week_posts(0)
    top, rising = found.top(TOP_TOPICS), found.rising(RISING_TOPICS)
    for topic in {id(t): t for t in [*top, *rising]}.values():
        describe_topic(topic, week_posts, exclude=inputs.place_names, settings=settings)

    link_lists = []
    seen: set[str] = set()
    for prefix, topic in [*(("热点", t) for t in top), *(("上升", t) for t in rising)]:
        if topic.label in seen:
            continue
        seen.add(topic.label)
        link_lists.append(
            LinkList(
                f"{prefix} {topic.label}: {topic.volume} 条, 平均情感 {topic.mean_sentiment:+.2f}",
                inputs.post_links(topic.representatives),
            )
        )
    notes = [
        f"话题由关键词共现归并而成;上升 = 新出现,或达到前{HISTORY_WEEKS}周周均的"
        f" {(settings or TopicSettings()).rise_ratio:g} 倍。 Topics group keywords that share posts; rising ="
        f" new, or at least {(settings or TopicSettings()).rise_ratio:g}× the mean of the previous"
        f" {HISTORY_WEEKS} weeks.",
        "地名不作为话题关键词(见“地点”一节)。 Place names are left to the Places section.",
    ]
    if found.history_posts == 0:
        notes.append(
            f"前{HISTORY_WEEKS}周没有帖子,无法判断上升话题。 No posts in the previous {HISTORY_WEEKS} weeks:"
            " rising topics cannot be told apart from steady ones."
        )
    charts = []
    if top:
        charts.append(
            ChartSpec(
                "top_topics",
                "热点话题 Top topics",
                "barh",
                pd.DataFrame(
                    {
                        "本周 this week": [t.volume for t in top],
                        f"前{HISTORY_WEEKS}周周均 4-week mean": [round(t.baseline, 1) for t in top],
                    },
                    index=[t.label for t in top],
                ),
                "帖子 posts",
            )
        )
    return Section(
        key="topics",
        title="话题 Topics",
        intro=(
            f"本周识别出 {len(found.topics)} 个话题,其中 {len(found.rising(len(found.topics)))} 个为新出现或上升话题。"
        ),
        tables=[
            Table("top_topics", "热点话题 Top topics", _table(top)),
            Table("rising_topics", "上升话题 Rising topics", _table(rising)),
        ],
        charts=charts,
        link_lists=link_lists,
        notes=notes,
        findings=_findings(inputs, top, rising),
    )


def _findings(inputs: ReportInputs, top: list[Topic], rising: list[Topic]) -> list[Finding]:
    findings = []
    if rising:
        topic = rising[0]
        if topic.status == "new":
            change = f"新出现话题,本周 {topic.volume} 条 — new topic, {topic.volume} posts"
        else:
            change = (
                f"本周 {topic.volume} 条,前{HISTORY_WEEKS}周周均 {topic.baseline:.1f} 条(×{topic.growth})"
                f" — {topic.volume} posts vs {topic.baseline:.1f} a week"
            )
        findings.append(
            Finding(
                key="topics.rising",
                headline=f"上升话题「{topic.label}」:{change},平均情感 {topic.mean_sentiment:+.2f}",
                weight=45 + min(25.0, 3 * topic.rise_score),
                figures={
                    "topic": topic.label,
                    "posts": topic.volume,
                    "baseline_per_week": round(topic.baseline, 2),
                },
                examples=inputs.post_links(topic.representatives),
            )
        )
    if top:
        topic = top[0]
        findings.append(
            Finding(
                key="topics.top",
                headline=f"本周最大话题「{topic.label}」:{topic.volume} 条 — top topic, {topic.volume} posts",
                weight=10,
                figures={"topic": topic.label, "posts": topic.volume},
                examples=inputs.post_links(topic.representatives),
            )
        )
    return findings
