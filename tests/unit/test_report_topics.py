"""Topics from stored keywords: grouping by shared posts, rising against the previous weeks,
representative posts without near-copies, and determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from patrol.reports.topics import TopicSettings, describe_topic, detect_topics

BASE = datetime(2026, 11, 16, 2, tzinfo=UTC)


def frame(rows: list[tuple[int, list[str], float]], simhash: dict[int, int] | None = None) -> pd.DataFrame:
    """rows: (week offset, keywords, sentiment); ids in order."""
    records = []
    for n, (offset, keywords, sentiment) in enumerate(rows):
        records.append(
            {
                "id": f"p{n:03d}",
                "week_offset": offset,
                "keywords": keywords,
                "sentiment": sentiment,
                "sentiment_label": "negative" if sentiment < -0.25 else "neutral",
                "published_at": BASE + timedelta(weeks=offset, minutes=n),
                "simhash": (simhash or {}).get(n, n * 0x9E3779B97F4A7C15 % (1 << 62)),
            }
        )
    return pd.DataFrame(records)


def world() -> pd.DataFrame:
    rows: list[tuple[int, list[str], float]] = []
    rows += [(0, ["供暖", "暖气", f"u{i}"], -0.5) for i in range(10)]
    rows += [(0, ["冰雕", "冰灯"], 0.6) for _ in range(6)]
    rows += [(0, ["堵车"], 0.0) for _ in range(5)]
    rows += [(0, ["停电"], 0.0) for _ in range(2)]  # below min_posts: no topic
    rows += [(0, ["香坊", "堵车"], 0.0)]  # a place name is never a topic keyword
    for week in range(1, 5):
        rows += [(-week, ["供暖", "暖气"], -0.2) for _ in range(2)]
        rows += [(-week, ["堵车"], 0.0) for _ in range(5)]
        rows += [(-week, ["施工"], 0.0) for _ in range(8)]
    rows += [(0, ["施工"], 0.0) for _ in range(3)]
    return frame(rows)


def test_keywords_sharing_posts_form_one_topic_with_its_history() -> None:
    found = detect_topics(world(), exclude=frozenset({"香坊"}))
    topics = {t.label: t for t in found.topics}
    assert set(topics) == {"供暖/暖气", "冰灯/冰雕", "堵车", "施工"}
    heat = topics["供暖/暖气"]
    assert (heat.volume, heat.history, heat.status, heat.growth) == (10, (2, 2, 2, 2), "rising", 5.0)
    assert (heat.mean_sentiment, heat.negative_share) == (-0.5, 1.0)
    assert topics["堵车"].volume == 6 and topics["堵车"].status == "steady"
    assert topics["冰灯/冰雕"].status == "new" and topics["冰灯/冰雕"].growth is None
    assert topics["施工"].status == "falling"


def test_rising_ranks_new_topics_by_smoothed_growth_and_leaves_out_steady_ones() -> None:
    found = detect_topics(world(), exclude=frozenset({"香坊"}))
    assert [t.label for t in found.rising()] == ["冰灯/冰雕", "供暖/暖气"]
    assert [t.label for t in found.top(3)] == ["供暖/暖气", "冰灯/冰雕", "堵车"]


def test_without_history_nothing_is_called_rising() -> None:
    this_week_only = world()
    this_week_only = this_week_only[this_week_only["week_offset"] == 0]
    found = detect_topics(this_week_only)
    assert found.history_posts == 0
    assert found.rising() == [] and {t.status for t in found.topics} == {"no_history"}


def test_a_loose_pair_of_keywords_stays_two_topics() -> None:
    rows = [(0, ["学校"], 0.0)] * 6 + [(0, ["学校", "放假"], 0.0)] + [(0, ["放假"], 0.0)] * 6
    found = detect_topics(frame(rows), settings=TopicSettings(join_jaccard=0.3))
    assert sorted(t.label for t in found.topics) == ["学校", "放假"]


def test_representatives_are_the_most_typical_and_skip_near_copies() -> None:
    rows = [
        (0, ["供暖", "暖气"], -0.5),
        (0, ["供暖", "暖气"], -0.5),  # a near-copy of the first (same simhash bar one bit)
        (0, ["供暖"], -0.5),
        (0, ["供暖", "暖气"], 0.9),
        (0, ["暖气"], -0.5),
    ]
    posts = frame(rows, simhash={0: 0b1011 << 40, 1: 0b1010 << 40})
    topic = next(iter(detect_topics(posts).topics))
    describe_topic(topic, posts)
    # both terms first, closest to the mean sentiment first, oldest first; p001 is a copy of p000
    assert topic.representatives == ["p000", "p003", "p002"]
    assert topic.keywords[:2] == ("供暖", "暖气")


def test_same_data_same_topics() -> None:
    first = detect_topics(world())
    second = detect_topics(world().sample(frac=1.0, random_state=3).reset_index(drop=True))
    assert [(t.label, t.volume, t.history) for t in first.top(10)] == [
        (t.label, t.volume, t.history) for t in second.top(10)
    ]
