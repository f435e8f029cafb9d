"""Bulk indexing loses nothing and doubles nothing, whatever the cluster answers.

These run against the fake upstream in `test_es_fake.py` (a stdlib HTTP server on 127.0.0.1 and an
ephemeral port), because no Elasticsearch engine can run on the build machines; the real client and
its HTTP stack do the talking, and the fake's bulk answers are scripted: failed items, a 429 for a
whole request, a connection dropped after some documents were applied.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from patrol.schema import AnalysedPost
from patrol.store.elastic import (
    BulkSettings,
    DeadLetterFile,
    ElasticPostStore,
    bulk_lines,
    mapping_version,
    post_document,
)
from patrol.store.elastic.documents import ADD_SCHEME_SCRIPT
from patrol.thresholds import Thresholds
from tests.conftest import make_analysed
from tests.unit.test_es_fake import FakeElasticsearch

NOVEMBER_INDEX = f"patrol-posts-v{mapping_version()}-2026.11.01"
FAST_RETRIES = BulkSettings(chunk_docs=10, max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02)


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    with FakeElasticsearch() as server:
        yield server


def _store(url: str, tmp_path: Path, bulk: BulkSettings = FAST_RETRIES, **options: object) -> ElasticPostStore:
    return ElasticPostStore.from_url(
        url,
        dead_letter_path=tmp_path / "dead-letter" / "elasticsearch.jsonl",
        thresholds=Thresholds(default=0.5),
        bulk=bulk,
        request_timeout=5,
        **options,  # type: ignore[arg-type]
    )


def _posts(count: int, start: int = 0) -> list[AnalysedPost]:
    return [
        make_analysed(f"p{i}", f"帖子 {i} 燃气", ["帖子", str(i), "燃气"], minutes=i, scores={"public_hazard": 0.1})
        for i in range(start, start + count)
    ]


def _letters(store: ElasticPostStore) -> dict[str, str]:
    return {letter.post_id: letter.reason for letter in store.dead_letters.pending()}


def _assert_accounted(fake: FakeElasticsearch, store: ElasticPostStore, ids: set[str]) -> None:
    """Every post is indexed or dead-lettered, never both, never twice."""
    indexed = fake.cluster.all_docs()
    letters = _letters(store)
    assert set(indexed) | set(letters) == ids
    assert not set(indexed) & set(letters)
    assert all(len(where) == 1 for where in indexed.values())
    assert max(fake.cluster.writes.values(), default=1) == 1


def test_upserts_count_created_updated_and_unchanged(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    store = _store(fake_es.url, tmp_path)
    posts = _posts(25)
    first = store.upsert(posts)
    assert (first.inserted, first.updated, first.unchanged, first.failed) == (25, 0, 0, 0)
    assert fake_es.cluster.bulk_requests == 3  # 10 + 10 + 5: cut by document count
    assert store.upsert(posts).unchanged == 25
    changed = make_analysed("p3", "帖子 改了", ["帖子", "改了"], minutes=3)
    assert store.upsert([changed]).updated == 1
    index = fake_es.cluster.indices[NOVEMBER_INDEX]
    assert set(index.aliases) == {"patrol-posts", "patrol-posts-write-2026.11"}
    assert index.docs["test-forum:p3"]["analysis"]["tokens"] == ["帖子", "改了"]


def test_failed_items_429s_and_a_dropped_connection_lose_nothing(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    store = _store(fake_es.url, tmp_path)
    posts = _posts(40)
    fake_es.cluster.bulk_plan = [
        (
            "fail_items",
            {
                "test-forum:p3": (400, "mapper_parsing_exception"),
                "test-forum:p5": (429, "es_rejected_execution_exception"),
            },
        ),
        ("ok",),  # p5 again, alone
        ("reject", 429),  # the second chunk, whole
        ("drop", 4),  # the second chunk again: 4 documents applied, then the connection is gone
        ("ok",),  # the second chunk a third time: those 4 are unchanged now, 6 are new
        ("reject", 429),
        ("reject", 503),
        ("reject", 429),  # the third chunk never gets through
        ("ok",),  # the fourth chunk
    ]
    result = store.upsert(posts)
    assert (result.inserted, result.unchanged, result.failed) == (25, 4, 11)
    assert result.inserted + result.updated + result.unchanged + result.failed == len(posts)
    assert fake_es.cluster.bulk_requests == 9 and not fake_es.cluster.bulk_plan
    letters = _letters(store)
    assert letters["test-forum:p3"].startswith("400 mapper_parsing_exception")
    assert {f"test-forum:p{i}" for i in range(20, 30)} < set(letters)
    assert "gave up after 3 attempts" in letters["test-forum:p25"]
    _assert_accounted(fake_es, store, {p.post.id for p in posts})

    # The next call sends the dead letters again with its own posts, and counts them.
    more = _posts(5, start=40)
    again = store.upsert(more)
    assert (again.retried, again.inserted, again.failed) == (11, 16, 0)
    assert again.inserted + again.updated + again.unchanged + again.failed == len(more) + again.retried
    assert _letters(store) == {}
    _assert_accounted(fake_es, store, {p.post.id for p in posts + more})


def test_a_post_given_again_supersedes_its_dead_letter(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    store = _store(fake_es.url, tmp_path)
    post = _posts(1)[0]
    fake_es.cluster.bulk_plan = [("fail_items", {post.post.id: (400, "mapper_parsing_exception")})]
    assert store.upsert([post]).failed == 1
    result = store.upsert([post])
    assert (result.retried, result.inserted) == (0, 1)  # sent once, counted once
    assert _letters(store) == {}
    assert fake_es.cluster.writes[post.post.id] == 1


def test_documents_the_mapping_refuses_or_json_cannot_carry_are_dead_lettered(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    store = _store(fake_es.url, tmp_path)
    good, unmapped, nan = _posts(3)
    unmapped.analysis.risk_scores = {"rumour": 0.9}  # not a category the strict mapping knows
    nan.analysis.risk_scores = {"fraud": float("nan")}
    result = store.upsert([good, unmapped, nan])
    assert (result.inserted, result.failed) == (1, 2)
    letters = _letters(store)
    assert letters[unmapped.post.id].startswith("400 strict_dynamic_mapping_exception")
    assert "analysis.risk_scores.rumour" in letters[unmapped.post.id]
    assert letters[nan.post.id].startswith("cannot serialise")
    # The letter keeps the whole post, so a retry needs nothing else.
    kept = next(lt for lt in store.dead_letters.pending() if lt.post_id == unmapped.post.id)
    assert kept.analysed_post() == unmapped and kept.attempts == 1


def test_requests_are_cut_by_bytes(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    posts = _posts(10)
    one = len(bulk_lines("patrol-posts-write-2026.11", post_document(posts[0], str.split, Thresholds())))
    store = _store(fake_es.url, tmp_path, BulkSettings(chunk_docs=500, chunk_bytes=int(one * 2.5)))
    assert store.upsert(posts).inserted == 10
    assert fake_es.cluster.bulk_requests == 5  # two documents a request
    assert max(fake_es.cluster.bulk_bodies) <= one * 2.5


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_cluster_dead_letters_everything_then_catches_up(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    down = _store(f"http://127.0.0.1:{_closed_port()}", tmp_path)
    posts = _posts(12)
    result = down.upsert(posts)
    assert (result.inserted, result.failed) == (0, 12)
    assert all("unavailable" in reason for reason in _letters(down).values())
    up = _store(fake_es.url, tmp_path)  # same dead-letter file, the cluster is back
    caught_up = up.upsert([])
    assert (caught_up.retried, caught_up.inserted) == (12, 12)
    _assert_accounted(fake_es, up, {p.post.id for p in posts})


def test_an_error_mid_call_puts_the_claimed_letters_back(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    store = _store(fake_es.url, tmp_path)
    waiting = _posts(2)
    fake_es.cluster.bulk_plan = [("fail_items", {p.post.id: (400, "mapper_parsing_exception") for p in waiting})]
    store.upsert(waiting)

    def broken_tokenizer(text: str) -> list[str]:
        raise RuntimeError("tokenizer crashed")

    crashing = _store(fake_es.url, tmp_path, tokenize=broken_tokenizer)
    with pytest.raises(RuntimeError):
        crashing.upsert(_posts(1, start=50))
    assert set(_letters(store)) == {p.post.id for p in waiting}
    assert not list(store.dead_letters.path.parent.glob("*.claimed"))


def test_a_claim_left_by_a_dead_process_is_taken_over(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    store = _store(fake_es.url, tmp_path)
    post = _posts(1)[0]
    fake_es.cluster.bulk_plan = [("fail_items", {post.post.id: (400, "mapper_parsing_exception")})]
    store.upsert([post])
    path = store.dead_letters.path
    orphan = path.with_name(path.name + ".0123.claimed")
    path.rename(orphan)  # as if a process claimed the file and died
    fresh = DeadLetterFile(path)
    assert [lt.post_id for lt in fresh.pending()] == [post.post.id]  # still counted as waiting
    assert store.upsert([]).retried == 0  # a fresh claim belongs to a live process
    hour_ago = time.time() - 3700
    os.utime(orphan, (hour_ago, hour_ago))
    result = store.upsert([])
    assert (result.retried, result.inserted) == (1, 1)
    assert not orphan.exists() and _letters(store) == {}


def test_dead_letter_lines_are_plain_json(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    store = _store(fake_es.url, tmp_path)
    post = _posts(1)[0]
    post.post.text = "坏\ud800字"  # a lone surrogate from a broken page cannot be UTF-8 encoded
    assert store.upsert([post]).failed == 1
    line = json.loads(store.dead_letters.path.read_text(encoding="ascii"))
    assert line["post_id"] == post.post.id and line["reason"].startswith("cannot serialise")
    assert line["document"]["post"]["text"] == "坏\ud800字"


def test_a_dead_letter_backlog_drains_a_slice_per_call(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    store = _store(fake_es.url, tmp_path, BulkSettings(dead_letters_per_call=2, initial_backoff_s=0.01))
    posts = _posts(5)
    fake_es.cluster.bulk_plan = [("fail_items", {p.post.id: (400, "mapper_parsing_exception") for p in posts})]
    assert store.upsert(posts).failed == 5
    drained = [store.upsert([]) for _ in range(3)]
    assert [(r.retried, r.inserted, r.failed) for r in drained] == [(2, 2, 0), (2, 2, 0), (1, 1, 0)]
    _assert_accounted(fake_es, store, {p.post.id for p in posts})


# -- scheme matches -------------------------------------------------------------------------------


def _schemes(fake: FakeElasticsearch) -> dict[str, list[str]]:
    return {
        doc_id: doc["scheme_ids"]
        for doc_id, doc in fake.cluster.indices[NOVEMBER_INDEX].docs.items()
        if "scheme_ids" in doc
    }


def test_scheme_matches_are_scripted_updates_through_the_months_write_alias(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    store = _store(fake_es.url, tmp_path)
    store.upsert(_posts(2))
    sent_before = len(fake_es.cluster.bulk_actions)
    result = store.record_scheme_matches([("test-forum:p0", "scheme-a")])
    assert (result.added, result.unchanged, result.missing, result.failed) == (1, 0, 0, 0)
    ((action, body),) = fake_es.cluster.bulk_actions[sent_before:]
    assert action == {
        "update": {"_index": "patrol-posts-write-2026.11", "_id": "test-forum:p0", "retry_on_conflict": 3}
    }
    # No upsert: recording a match never creates a post, and the id goes in as a script parameter.
    assert body == {"script": {"source": ADD_SCHEME_SCRIPT, "lang": "painless", "params": {"scheme_id": "scheme-a"}}}


def test_a_pair_recorded_again_doubles_nothing_and_a_post_keeps_every_scheme(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    store = _store(fake_es.url, tmp_path)
    store.upsert(_posts(3))
    pairs = [("test-forum:p0", "scheme-a"), ("test-forum:p0", "scheme-b"), ("test-forum:p1", "scheme-a")]
    first = store.record_scheme_matches([*pairs, pairs[0]])  # a pair given twice in one call counts once
    assert (first.added, first.unchanged, first.missing, first.failed) == (3, 0, 0, 0)
    again = store.record_scheme_matches(pairs)
    assert (again.added, again.unchanged) == (0, 3)
    assert _schemes(fake_es) == {"test-forum:p0": ["scheme-a", "scheme-b"], "test-forum:p1": ["scheme-a"]}
    assert max(fake_es.cluster.scheme_writes.values()) == 2  # p0: once per scheme, never again

    # A changed post is replaced whole, and keeps its schemes; the same content again is a no-op.
    changed = make_analysed("p0", "帖子 改了", ["帖子", "改了"], minutes=0)
    assert store.upsert([changed]).updated == 1
    assert store.upsert([changed]).unchanged == 1
    doc = fake_es.cluster.indices[NOVEMBER_INDEX].docs["test-forum:p0"]
    assert doc["analysis"]["tokens"] == ["帖子", "改了"] and doc["scheme_ids"] == ["scheme-a", "scheme-b"]


def test_a_post_the_index_does_not_hold_is_missing_and_nothing_is_created(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    store = _store(fake_es.url, tmp_path)
    assert store.record_scheme_matches([("test-forum:p0", "scheme-a")]).missing == 1  # no index at all yet
    store.upsert(_posts(1))
    result = store.record_scheme_matches([("test-forum:nowhere", "scheme-a"), ("test-forum:p0", "scheme-a")])
    assert (result.added, result.missing, result.failed) == (1, 1, 0)
    assert sorted(fake_es.cluster.all_docs()) == ["test-forum:p0"]
    assert store.dead_letters.pending() == []  # scheme updates are never dead-lettered


def test_scheme_updates_are_retried_when_busy_and_failures_are_counted(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    store = _store(fake_es.url, tmp_path, BulkSettings(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.02))
    store.upsert(_posts(4))
    fake_es.cluster.bulk_plan = [
        ("reject", 429),  # the whole request
        ("drop", 1),  # one update applied, then the connection is gone
        (
            "fail_items",
            {
                "test-forum:p2": (429, "es_rejected_execution_exception"),
                "test-forum:p3": (400, "illegal_argument_exception"),
            },
        ),
        ("ok",),  # p2 again, alone
    ]
    pairs = [(f"test-forum:p{i}", "scheme-a") for i in range(4)]
    result = store.record_scheme_matches(pairs)
    # p0 was applied before the drop: sent again, it is a no-op, and counted once.
    assert (result.added, result.unchanged, result.missing, result.failed) == (2, 1, 0, 1)
    assert result.failures == ["test-forum:p3: scheme scheme-a: 400 illegal_argument_exception: scripted failure"]
    assert fake_es.cluster.bulk_requests == 4 + 1  # the upsert, then four for the matches
    assert _schemes(fake_es) == {f"test-forum:p{i}": ["scheme-a"] for i in range(3)}
    assert max(fake_es.cluster.scheme_writes.values()) == 1


def test_an_unreachable_cluster_fails_the_pairs_without_raising(tmp_path: Path) -> None:
    down = _store(f"http://127.0.0.1:{_closed_port()}", tmp_path)
    result = down.record_scheme_matches([("test-forum:p0", "scheme-a"), ("test-forum:p1", "scheme-a")])
    assert (result.added, result.failed) == (0, 2)
    assert all("unreachable" in failure for failure in result.failures)


def test_documents_carry_the_schemes_the_lookup_knows_dead_letters_included(
    fake_es: FakeElasticsearch, tmp_path: Path
) -> None:
    known = {"test-forum:p0": ["scheme-a"], "test-forum:p1": ["scheme-b"]}
    asked: list[list[str]] = []

    def lookup(post_ids: Sequence[str]) -> dict[str, list[str]]:
        asked.append(sorted(post_ids))
        return {post_id: known[post_id] for post_id in post_ids if post_id in known}

    store = _store(fake_es.url, tmp_path, scheme_ids=lookup)
    p0, p1 = _posts(2)
    fake_es.cluster.bulk_plan = [("fail_items", {p1.post.id: (400, "mapper_parsing_exception")})]
    assert store.upsert([p0, p1]).failed == 1
    assert asked == [[p0.post.id, p1.post.id]]  # one lookup for the whole call
    assert _schemes(fake_es) == {p0.post.id: ["scheme-a"]}
    known[p1.post.id] = ["scheme-b", "scheme-c"]  # matched again while it waited
    assert store.upsert([]).retried == 1
    assert _schemes(fake_es) == {p0.post.id: ["scheme-a"], p1.post.id: ["scheme-b", "scheme-c"]}
    # Same content, a scheme the index lacks: the upsert adds it instead of answering no-op.
    known[p0.post.id] = ["scheme-a", "scheme-d"]
    assert store.upsert([p0]).updated == 1
    assert _schemes(fake_es)[p0.post.id] == ["scheme-a", "scheme-d"]
    assert store.upsert([p0]).unchanged == 1
