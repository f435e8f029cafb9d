"""One contract, two stores: SQLite (always) and Elasticsearch (when PATROL_ES_URL names a cluster).

Run the Elasticsearch leg against the compose stack:

    docker compose up -d elasticsearch
    export PATROL_ES_URL=http://elastic:$ELASTIC_PASSWORD@localhost:9200
    .venv/bin/pytest tests/integration/test_store_contract.py

Each Elasticsearch test works under its own index prefix and removes its indices, template and policy.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from patrol.schema import AnalysedPost
from patrol.store.base import PostStore, SearchFilters, TermBucket
from patrol.store.elastic import ElasticPostStore
from patrol.store.snippets import make_snippet
from patrol.store.sqlite import SqlitePostStore
from patrol.thresholds import Thresholds
from tests.conftest import make_analysed

SHANGHAI = ZoneInfo("Asia/Shanghai")
THRESHOLDS = Thresholds(default=0.5)
ES_SKIP_REASON = "PATROL_ES_URL is not set: the Elasticsearch leg needs a cluster (docker compose up -d elasticsearch)"


def _sqlite(tmp_path: Path) -> Iterator[PostStore]:
    store = SqlitePostStore(tmp_path / "patrol.db", tokenize=str.split, thresholds=THRESHOLDS)
    yield store
    store.close()


def _elasticsearch(tmp_path: Path) -> Iterator[PostStore]:
    url = os.environ.get("PATROL_ES_URL")
    if not url:
        pytest.skip(ES_SKIP_REASON)
    prefix = f"patrol-test-{uuid.uuid4().hex[:8]}"
    store = ElasticPostStore.from_url(
        url,
        dead_letter_path=tmp_path / "dead-letter.jsonl",
        tokenize=str.split,
        thresholds=THRESHOLDS,
        prefix=prefix,
        refresh=True,
    )
    yield store
    store.delete_prefix()
    assert store.dead_letters.pending() == [], "the contract data must index without dead letters"
    store.close()


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PostStore]:
    yield from (_sqlite if request.param == "sqlite" else _elasticsearch)(tmp_path)


def _post(
    native_id: str,
    text: str,
    tokens: list[str],
    published: datetime,
    *,
    sentiment: float = 0.0,
    label: str = "neutral",
    **fields: object,
) -> AnalysedPost:
    item = make_analysed(native_id, text, tokens, published_at=published, **fields)  # type: ignore[arg-type]
    item.analysis.sentiment = sentiment
    item.analysis.sentiment_label = label
    return item


HAZARD = _post(
    "a",
    "通乡社区燃气泄漏，味道很大",
    ["通乡社区", "燃气", "泄漏", "味道", "很大"],
    datetime(2026, 11, 27, 15, 30, tzinfo=UTC),  # 23:30 on the 27th in Harbin
    sentiment=-0.6,
    label="negative",
    scores={"public_hazard": 0.8},
    jurisdiction="xf-tongxiang",
    source_id="bbs",
)
FEE = _post(
    "b",
    "燃气费又涨了",
    ["燃气费", "又", "涨", "了"],
    datetime(2026, 11, 28, 16, 30, tzinfo=UTC),  # 00:30 on the 29th
    sentiment=-0.2,
    source_id="weibo",
)
TRAFFIC = _post(
    "c",
    "学府路堵车",
    ["学府路", "堵车"],
    datetime(2026, 11, 24, 2, tzinfo=UTC),
    sentiment=0.4,
    label="positive",
    jurisdiction="ng-xuefu",
    source_id="bbs",
)
KNIVES = _post(
    "d",
    "有人在群里卖管制刀具",
    ["有人", "群里", "卖", "管制刀具"],
    datetime(2026, 10, 15, 4, tzinfo=UTC),
    sentiment=-0.8,
    label="negative",
    scores={"weapons": 0.7, "fraud": 0.6},
    source_id="bbs",
)
HOSTILE = _post(
    "e",
    "<script>alert(1)</script>燃气<img src=x onerror=alert(2)>\u202eevil",
    ["script", "燃气", "img"],
    datetime(2026, 11, 28, 1, tzinfo=UTC),
    source_id="weibo",
)
CORPUS = [HAZARD, FEE, TRAFFIC, KNIVES, HOSTILE]


def _ids(store: PostStore, query: str, filters: SearchFilters | None = None) -> set[str]:
    return {hit.post_id for hit in store.search(query, filters, limit=50).hits}


def test_upsert_twice_changes_nothing_and_a_change_is_reindexed(store: PostStore) -> None:
    first = store.upsert(CORPUS)
    assert (first.inserted, first.updated, first.unchanged, first.failed) == (5, 0, 0, 0)
    second = store.upsert(CORPUS)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 5)
    assert store.count() == 5
    changed = _post("c", "学府路畅通了", ["学府路", "畅通"], TRAFFIC.post.published_at, source_id="bbs")
    assert store.upsert([changed]).updated == 1
    assert store.count() == 5
    assert _ids(store, "堵车") == set() and _ids(store, "畅通") == {"bbs:c"}


def test_get_returns_the_post_and_analysis_as_stored(store: PostStore) -> None:
    store.upsert(CORPUS)
    assert store.get(HAZARD.post.id) == HAZARD
    assert store.get(KNIVES.post.id) == KNIVES
    assert store.get("bbs:missing") is None


def test_search_needs_every_token_and_highlights_them(store: PostStore) -> None:
    store.upsert(CORPUS)
    page = store.search("燃气 泄漏")
    assert page.total == 1 and [h.post_id for h in page.hits] == ["bbs:a"]
    hit = page.hits[0]
    assert hit.snippet_html == make_snippet(HAZARD.post.text, ["燃气", "泄漏"])
    assert "<mark>燃气</mark><mark>泄漏</mark>" in hit.snippet_html
    assert (hit.source_id, hit.max_risk, hit.top_category) == ("bbs", 0.8, "public_hazard")
    assert hit.jurisdiction == "xf-tongxiang"
    assert _ids(store, "燃气") == {"bbs:a", "weibo:e"}  # 燃气费 is another token


def test_snippets_escape_hostile_text(store: PostStore) -> None:
    store.upsert(CORPUS)
    (hit,) = store.search("燃气", SearchFilters(sources=["weibo"])).hits
    assert "<script>" not in hit.snippet_html and "<img" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html and "<mark>燃气</mark>" in hit.snippet_html
    assert "\u202e" not in hit.snippet_html


def test_title_tokens_are_searchable_on_a_threads_first_floor_only(store: PostStore) -> None:
    when = datetime(2026, 11, 20, tzinfo=UTC)
    store.upsert(
        [
            _post("t1", "价格私聊", ["价格", "私聊"], when, title="出售 仿真枪", floor=1),
            _post("t2", "顶一下", ["顶", "一下"], when, thread_title="出售 仿真枪", floor=2),
        ]
    )
    assert _ids(store, "仿真枪") == {"test-forum:t1"}
    assert _ids(store, "仿真枪 私聊") == {"test-forum:t1"}  # one token in the title, one in the body


def test_filters(store: PostStore) -> None:
    store.upsert(CORPUS)
    assert _ids(store, "", SearchFilters(sources=["weibo"])) == {"weibo:b", "weibo:e"}
    assert _ids(store, "", SearchFilters(categories=["public_hazard"])) == {"bbs:a"}
    assert _ids(store, "", SearchFilters(categories=["fraud", "drugs"])) == {"bbs:d"}
    assert _ids(store, "", SearchFilters(jurisdictions=["ng-xuefu"])) == {"bbs:c"}
    # Bounds in Harbin time: from midnight on the 28th, which is 16:00 UTC on the 27th.
    since = SearchFilters(since=datetime(2026, 11, 28, tzinfo=SHANGHAI))
    assert _ids(store, "", since) == {"weibo:b", "weibo:e"}
    assert _ids(store, "", SearchFilters(until=HAZARD.post.published_at)) == {"bbs:c", "bbs:d"}  # until excludes
    assert _ids(store, "", SearchFilters(min_risk=0.5)) == {"bbs:a", "bbs:d"}
    assert _ids(store, "", SearchFilters(max_risk=0.7)) == {"bbs:d", "weibo:b", "bbs:c", "weibo:e"}
    assert _ids(store, "燃气", SearchFilters(sources=["bbs"], min_risk=0.5)) == {"bbs:a"}
    assert store.count(SearchFilters(sources=["bbs"])) == 3


def test_scheme_filter_finds_a_post_under_every_scheme_that_matched_it(store: PostStore) -> None:
    store.upsert(CORPUS)
    pairs = [(HAZARD.post.id, "scheme-a"), (HAZARD.post.id, "scheme-b"), (FEE.post.id, "scheme-a")]
    first = store.record_scheme_matches([*pairs, ("bbs:missing", "scheme-a")])
    assert (first.added, first.unchanged, first.missing, first.failed) == (3, 0, 1, 0)
    again = store.record_scheme_matches([*pairs, pairs[0]])
    assert (again.added, again.unchanged, again.missing, again.failed) == (0, 3, 0, 0)
    assert _ids(store, "", SearchFilters(schemes=["scheme-a"])) == {"bbs:a", "weibo:b"}
    assert _ids(store, "", SearchFilters(schemes=["scheme-b"])) == {"bbs:a"}
    assert _ids(store, "", SearchFilters(schemes=["scheme-a", "scheme-b"])) == {"bbs:a", "weibo:b"}
    assert _ids(store, "", SearchFilters(schemes=["scheme-none"])) == set()
    page = store.search("", SearchFilters(schemes=["scheme-a", "scheme-b"]))
    assert page.total == 2 and store.count(SearchFilters(schemes=["scheme-a"])) == 2  # nothing doubled
    assert _ids(store, "燃气", SearchFilters(schemes=["scheme-a"])) == {"bbs:a"}
    assert _ids(store, "", SearchFilters(schemes=["scheme-a"], sources=["weibo"])) == {"weibo:b"}
    assert store.terms("source_id", SearchFilters(schemes=["scheme-a"])) == [
        TermBucket(key="bbs", count=1),
        TermBucket(key="weibo", count=1),
    ]
    assert store.sentiment(SearchFilters(schemes=["scheme-b"])).total == 1

    # A changed post is reindexed and keeps the schemes that matched it.
    changed = _post("a", "燃气泄漏已处理", ["燃气", "泄漏", "处理"], HAZARD.post.published_at, source_id="bbs")
    assert store.upsert([changed]).updated == 1
    assert _ids(store, "处理", SearchFilters(schemes=["scheme-b"])) == {"bbs:a"}


def test_retention_takes_a_posts_scheme_matches_with_it(store: PostStore) -> None:
    store.upsert(CORPUS)
    assert store.record_scheme_matches([(KNIVES.post.id, "scheme-a"), (FEE.post.id, "scheme-a")]).added == 2
    assert store.delete_older_than(datetime(2026, 11, 1, tzinfo=SHANGHAI)) == 1
    assert store.upsert([KNIVES]).inserted == 1  # crawled again: a new post, no scheme has matched it
    assert _ids(store, "", SearchFilters(schemes=["scheme-a"])) == {"weibo:b"}


def test_pages_newest_first_without_a_query(store: PostStore) -> None:
    store.upsert(CORPUS)
    first = store.search("", limit=2)
    second = store.search("", limit=2, offset=2)
    assert first.total == second.total == 5
    assert [h.post_id for h in first.hits + second.hits] == ["weibo:b", "weibo:e", "bbs:a", "bbs:c"]


def test_date_histogram_by_harbin_day_keeps_empty_days(store: PostStore) -> None:
    store.upsert(CORPUS)
    november = SearchFilters(since=datetime(2026, 11, 1, tzinfo=SHANGHAI))
    days = store.histogram("day", november)
    assert [(b.start, b.count) for b in days] == [
        (datetime(2026, 11, d, tzinfo=SHANGHAI), n) for d, n in [(24, 1), (25, 0), (26, 0), (27, 1), (28, 1), (29, 1)]
    ]
    assert days[1].mean_sentiment is None
    assert days[0].mean_sentiment == pytest.approx(0.4)
    weeks = store.histogram("week", november)
    assert [(b.start, b.count) for b in weeks] == [(datetime(2026, 11, 23, tzinfo=SHANGHAI), 4)]
    months = store.histogram("month")
    assert [(b.start, b.count) for b in months] == [
        (datetime(2026, 10, 1, tzinfo=SHANGHAI), 1),
        (datetime(2026, 11, 1, tzinfo=SHANGHAI), 4),
    ]
    assert store.histogram("day", SearchFilters(sources=["nowhere"])) == []


def test_terms_aggregations(store: PostStore) -> None:
    store.upsert(CORPUS)
    assert store.terms("source_id") == [TermBucket(key="bbs", count=3), TermBucket(key="weibo", count=2)]
    assert [(b.key, b.count) for b in store.terms("flagged_categories")] == [
        ("fraud", 1),
        ("public_hazard", 1),
        ("weapons", 1),
    ]
    assert [(b.key, b.count) for b in store.terms("jurisdiction")] == [("ng-xuefu", 1), ("xf-tongxiang", 1)]
    assert store.terms("keywords", limit=1) == [TermBucket(key="燃气", count=2)]
    assert store.terms("source_id", SearchFilters(min_risk=0.5)) == [TermBucket(key="bbs", count=2)]
    assert store.top_keywords(1) == [("燃气", 2)]


def test_sentiment_summary(store: PostStore) -> None:
    store.upsert(CORPUS)
    summary = store.sentiment()
    assert summary.total == 5
    assert summary.mean == pytest.approx(-0.24)
    assert summary.by_label == {"negative": 2, "neutral": 2, "positive": 1}
    weibo = store.sentiment(SearchFilters(sources=["weibo"]))
    assert (weibo.total, weibo.by_label) == (2, {"neutral": 2})
    empty = store.sentiment(SearchFilters(sources=["nowhere"]))
    assert (empty.total, empty.mean, empty.by_label) == (0, None, {})


def test_delete_by_retention(store: PostStore) -> None:
    store.upsert(CORPUS)
    removed = store.delete_older_than(datetime(2026, 11, 25, tzinfo=SHANGHAI))
    assert removed == 2  # October's post and the 24th's
    assert store.count() == 3
    assert store.get(KNIVES.post.id) is None and store.get(TRAFFIC.post.id) is None
    assert _ids(store, "堵车") == set()
    assert store.delete_older_than(datetime(2026, 11, 25, tzinfo=SHANGHAI)) == 0
    assert store.upsert([KNIVES]).inserted == 1  # a deleted month takes posts again
