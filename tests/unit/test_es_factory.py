"""`open_post_store`: SQLite alone, or SQLite mirrored into Elasticsearch when PATROL_ES_URL is set.

The Elasticsearch side is the fake upstream in `test_es_fake.py` (a stdlib HTTP server on 127.0.0.1
and an ephemeral port), because no Elasticsearch engine can run on the build machines.
"""

from __future__ import annotations

from pathlib import Path

from patrol.config import Settings
from patrol.store.elastic import ElasticPostStore
from patrol.store.factory import MirroredPostStore, dead_letter_path, open_post_store
from patrol.store.sqlite import SqlitePostStore
from patrol.thresholds import Thresholds
from tests.conftest import make_analysed
from tests.unit.test_es_fake import FakeElasticsearch


def test_without_an_elasticsearch_url_the_store_is_sqlite(tmp_path: Path) -> None:
    store = open_post_store(Settings(data_dir=tmp_path), str.split, Thresholds())
    assert isinstance(store, SqlitePostStore) and store.path == tmp_path / "patrol.db"
    store.close()


def test_with_an_elasticsearch_url_writes_go_to_both_and_failures_are_counted(tmp_path: Path) -> None:
    good = make_analysed("1", "燃气 泄漏", ["燃气", "泄漏"])
    refused_by_es = make_analysed("2", "正常", ["正常"])
    bad = make_analysed("3", "正常", ["正常"])
    bad.post.text = "\ud800"  # SQLite refuses it, so Elasticsearch is not even asked
    with FakeElasticsearch() as fake:
        settings = Settings(data_dir=tmp_path, es_url=fake.url)
        store = open_post_store(settings, str.split, Thresholds())
        assert isinstance(store, MirroredPostStore)
        assert isinstance(store.search_store, ElasticPostStore)
        assert store.search_store.dead_letters.path == dead_letter_path(settings)
        fake.cluster.bulk_plan = [("fail_items", {"test-forum:2": (400, "mapper_parsing_exception")})]
        result = store.upsert([good, refused_by_es, bad])
        assert (result.inserted, result.failed) == (2, 2)  # SQLite took 2; one failure each side
        assert [f.split(":", 1)[0] for f in result.failures] == ["test-forum", "elasticsearch"]
        assert sorted(fake.cluster.all_docs()) == ["test-forum:1"]
        assert store.get("test-forum:2") == refused_by_es  # SQLite has it; Elasticsearch will, next call
        again = store.upsert([])
        assert (again.retried, again.failed) == (1, 0)
        assert sorted(fake.cluster.all_docs()) == ["test-forum:1", "test-forum:2"]
        store.close()


def test_scheme_matches_go_to_both_stores_and_a_late_post_brings_its_schemes(tmp_path: Path) -> None:
    indexed = make_analysed("1", "燃气 泄漏", ["燃气", "泄漏"])
    late = make_analysed("2", "燃气 味道", ["燃气", "味道"])
    with FakeElasticsearch() as fake:
        store = open_post_store(Settings(data_dir=tmp_path, es_url=fake.url), str.split, Thresholds())
        assert isinstance(store, MirroredPostStore)
        fake.cluster.bulk_plan = [("fail_items", {late.post.id: (400, "mapper_parsing_exception")})]
        assert store.upsert([indexed, late]).failed == 1  # SQLite has both; Elasticsearch has one
        pairs = [(indexed.post.id, "gas"), (late.post.id, "gas"), (late.post.id, "smell"), ("test-forum:9", "gas")]
        result = store.record_scheme_matches(pairs)
        assert (result.added, result.missing, result.failed) == (3, 1, 0)  # SQLite's counts
        assert store.primary.scheme_ids_of([indexed.post.id, late.post.id]) == {
            indexed.post.id: ["gas"],
            late.post.id: ["gas", "smell"],
        }
        docs = fake.cluster.indices[next(iter(fake.cluster.indices))].docs
        assert docs[indexed.post.id]["scheme_ids"] == ["gas"]
        assert store.upsert([]).retried == 1  # the late post, with the schemes SQLite recorded meanwhile
        assert docs[late.post.id]["scheme_ids"] == ["gas", "smell"]
        again = store.record_scheme_matches(pairs)
        assert (again.added, again.unchanged, again.failed) == (0, 3, 0)
        assert max(fake.cluster.scheme_writes.values()) == 1
        store.close()
