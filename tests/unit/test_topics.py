"""Hot topics: posts about one event join one topic labelled by its keywords, the state persists
and a new pass continues it, re-running a batch changes nothing, and a burst shows as rising."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nlp.pipeline import NlpPipeline
from nlp.topics import (
    TopicModel,
    TopicParams,
    assign_topics,
    hot_topics,
    load_topic_model,
    rising_topics,
    topic_state_file,
)
from patrol.config import Settings, load_settings
from patrol.schema import AnalysedPost
from tests.conftest import make_post

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)

GAS = [
    "幸福家园小区3号楼燃气泄漏，味道很大，燃气公司还没来",
    "幸福家园3号楼又闻到燃气味了，燃气泄漏太吓人",
    "燃气泄漏！幸福家园小区的邻居们注意，别开火",
    "幸福家园小区燃气泄漏的事有人管吗，燃气公司电话打不通",
]
ICE = [
    "冰雪大世界今天开园了，门票三百多，冰灯特别漂亮",
    "冰雪大世界开园第一天人太多了，冰灯排队两小时",
    "周末去冰雪大世界看冰灯，门票贵但值得",
]
BUS = [
    "51路公交线路调整了，学府路站取消，上班得绕路",
    "学府路那站公交取消了？51路线路调整太不方便",
    "51路公交改线，学府路没站了，大家怎么上班",
]


@pytest.fixture(scope="module")
def pipeline() -> NlpPipeline:
    return NlpPipeline.from_settings(Settings())


def analysed(
    pipeline: NlpPipeline, texts: list[str], *, prefix: str, minutes_ago: list[float], now: datetime = NOW
) -> list[AnalysedPost]:
    posts = [
        make_post(f"{prefix}{i}", text, published_at=now - timedelta(minutes=m))
        for i, (text, m) in enumerate(zip(texts, minutes_ago, strict=True))
    ]
    return [AnalysedPost(post=p, analysis=a) for p, a in zip(posts, pipeline.analyse(posts), strict=True)]


def interleaved(pipeline: NlpPipeline) -> list[AnalysedPost]:
    gas = analysed(pipeline, GAS, prefix="gas", minutes_ago=[50, 40, 30, 20])
    ice = analysed(pipeline, ICE, prefix="ice", minutes_ago=[45, 35, 25])
    bus = analysed(pipeline, BUS, prefix="bus", minutes_ago=[44, 34, 24])
    return [p for group in zip(gas, [*ice, None], [*bus, None], strict=True) for p in group if p is not None]


def by_prefix(posts: list[AnalysedPost], ids: list[str | None]) -> dict[str, set[str | None]]:
    groups: dict[str, set[str | None]] = {}
    for post, topic_id in zip(posts, ids, strict=True):
        groups.setdefault(str(post.post.native_id)[:3], set()).add(topic_id)
    return groups


def test_posts_about_one_event_share_a_topic_labelled_by_its_keywords(pipeline: NlpPipeline) -> None:
    posts = interleaved(pipeline)
    model = TopicModel(clock=lambda: NOW)
    groups = by_prefix(posts, model.assign(posts))
    assert all(len(ids) == 1 and None not in ids for ids in groups.values()), groups
    assert len({next(iter(ids)) for ids in groups.values()}) == 3  # three events, three topics
    gas = model.topic(str(next(iter(groups["gas"]))))
    assert gas.size == 4 and "燃气泄漏" in gas.label and "幸福家园小区" in gas.keywords
    assert "号楼" not in gas.keywords  # address filler is on the topic stop list
    assert "冰灯" in model.topic(str(next(iter(groups["ice"])))).label
    assert [t.size for t in model.topics()] == [4, 3, 3]


def test_posts_without_content_words_get_no_topic(pipeline: NlpPipeline) -> None:
    posts = analysed(pipeline, ["顶", "[赞][赞]", "哈哈哈哈", "？？？"], prefix="x", minutes_ago=[1, 2, 3, 4])
    model = TopicModel(clock=lambda: NOW)
    assert model.assign(posts)[:2] == [None, None]
    assert all(t.size == 1 for t in model.topics())


def test_a_saved_model_continues_the_same_topics(pipeline: NlpPipeline, tmp_path: Path) -> None:
    posts = interleaved(pipeline)
    whole = TopicModel(clock=lambda: NOW).assign(posts)
    path = tmp_path / "state" / "topics.json"
    first = TopicModel(clock=lambda: NOW)
    ids = first.assign(posts[:4])
    first.save(path)
    ids += TopicModel.load(path, clock=lambda: NOW).assign(posts[4:])
    assert ids == whole
    assert not list(path.parent.glob(".topics.json.*")), "the temporary file must be renamed into place"


def test_reassigning_a_post_changes_nothing(pipeline: NlpPipeline) -> None:
    posts = interleaved(pipeline)
    model = TopicModel(clock=lambda: NOW)
    ids = model.assign(posts)
    before = model.to_json()
    assert model.assign(list(reversed(posts))) == list(reversed(ids))
    assert model.to_json() == before


def test_assign_topics_persists_under_the_data_dir(pipeline: NlpPipeline, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    posts = interleaved(pipeline)
    first = assign_topics(settings, posts[:5], clock=lambda: NOW)
    second = assign_topics(settings, posts[5:], clock=lambda: NOW)
    assert topic_state_file(settings).is_file()
    model = load_topic_model(settings, clock=lambda: NOW)
    assert [model.topic_of(p.post.id) for p in posts] == first + second
    assert sorted(t.size for t in model.topics()) == [3, 3, 4]


def test_a_burst_of_one_topic_is_rising_and_steady_ones_are_not(pipeline: NlpPipeline) -> None:
    # The bus change was talked about all morning (steady); the gas leak erupts in the last hour.
    bus = analysed(pipeline, BUS * 8, prefix="bus", minutes_ago=[60 + 30 * i for i in range(24)])
    gas = analysed(pipeline, GAS * 3, prefix="gas", minutes_ago=[4 * i + 1 for i in range(12)])
    model = TopicModel(clock=lambda: NOW)
    model.assign(bus + gas)
    rising = rising_topics(model)
    by_window = {w: sorted(r.topic.label.split("·")[0] for r in rising if r.window == w) for w in ("hour", "day")}
    assert by_window == {"hour": ["燃气泄漏"], "day": ["学府路", "燃气泄漏"]}  # both are new today
    hour = next(r for r in rising if r.window == "hour")
    assert (hour.recent, hour.baseline) == (12, 0) and hour.ratio == 13
    assert json.loads(json.dumps(hour.as_dict()))["topic"]["size"] == 12
    later = rising_topics(model, now=NOW + timedelta(hours=3))
    assert {r.window for r in later} == {"day"}  # three hours on the hour's burst is over, the day's is not
    hot = hot_topics(model, window=timedelta(hours=12))
    assert [(h.topic.label.split("·")[0], h.posts) for h in hot] == [("学府路", 22), ("燃气泄漏", 12)]


def test_idle_topics_expire(pipeline: NlpPipeline) -> None:
    clock_time = [NOW]
    model = TopicModel(TopicParams(topic_ttl_days=2), clock=lambda: clock_time[0])
    model.assign(analysed(pipeline, GAS, prefix="gas", minutes_ago=[1, 2, 3, 4]))
    assert len(model) == 1
    clock_time[0] = NOW + timedelta(days=3)
    model.assign(analysed(pipeline, ICE, prefix="ice", minutes_ago=[1, 2, 3], now=clock_time[0]))
    assert [t.label.split("·")[0] for t in model.topics()] == ["冰灯"]
    assert model.topic_of("test-forum:gas0") is None


def test_a_damaged_state_file_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "topics.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="delete it to start topics afresh"):
        TopicModel.load(path)
    path.write_text(json.dumps({"format": 99}), encoding="utf-8")
    with pytest.raises(ValueError, match="format 99"):
        TopicModel.load(path)
    assert len(TopicModel.load(tmp_path / "missing.json")) == 0


def test_params_and_times_are_checked(pipeline: NlpPipeline) -> None:
    with pytest.raises(ValueError, match="similarity"):
        TopicParams(similarity=0)
    with pytest.raises(ValueError, match="one time per post"):
        TopicModel().assign([pipeline.analyse_text("燃气泄漏")], times=[])
