"""`patrol reindex`: a mapping change moves writes, then reads, to new indices, losing nothing.

Runs against the fake upstream in `test_es_fake.py` (a stdlib HTTP server on 127.0.0.1 and an
ephemeral port, over the real client), because no Elasticsearch engine can run on the build machines.
A next mapping version is made by copying `es_mappings/` and adding `posts.v<N+1>.json`; the shipped
v1 -> v2 rollout (v2 adds `scheme_ids`) runs on the shipped files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol.commands.reindex import reindex, run_reindex
from patrol.schema import AnalysedPost
from patrol.store.base import SchemeIdLookup
from patrol.store.elastic import MAPPINGS_DIR, BulkSettings, ElasticPostStore, mapping_version
from patrol.store.sqlite import SqlitePostStore
from tests.conftest import make_analysed
from tests.unit.test_es_fake import FakeElasticsearch

OCTOBER = datetime(2026, 10, 30, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 2, tzinfo=UTC)
POSTS = [
    make_analysed(f"r{i}", f"帖子{i}", ["帖子", str(i)], published_at=OCTOBER if i < 2 else NOVEMBER) for i in range(6)
]
CURRENT = mapping_version()
NEXT = CURRENT + 1
V1 = [f"patrol-posts-v{CURRENT}-2026.10.01", f"patrol-posts-v{CURRENT}-2026.11.01"]
V2 = [f"patrol-posts-v{NEXT}-2026.10.01", f"patrol-posts-v{NEXT}-2026.11.01"]


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    with FakeElasticsearch() as server:
        yield server


@pytest.fixture
def mappings_v2(tmp_path: Path) -> Path:
    folder = tmp_path / "es_mappings"
    shutil.copytree(MAPPINGS_DIR, folder)
    shutil.copy(folder / f"posts.v{CURRENT}.json", folder / f"posts.v{NEXT}.json")
    return folder


@pytest.fixture
def mappings_v1_only(tmp_path: Path) -> Path:
    """es_mappings/ as shipped before scheme_ids: what a cluster set up then runs on."""
    folder = tmp_path / "es_mappings_v1"
    shutil.copytree(MAPPINGS_DIR, folder)
    for version in range(2, CURRENT + 1):
        (folder / f"posts.v{version}.json").unlink()
    return folder


def _store(
    fake: FakeElasticsearch,
    tmp_path: Path,
    mappings_dir: Path = MAPPINGS_DIR,
    scheme_ids: SchemeIdLookup | None = None,
) -> ElasticPostStore:
    return ElasticPostStore.from_url(
        fake.url,
        dead_letter_path=tmp_path / "dead-letter.jsonl",
        mappings_dir=mappings_dir,
        bulk=BulkSettings(max_attempts=2, initial_backoff_s=0.01),
        scheme_ids=scheme_ids,
    )


def _aliases(fake: FakeElasticsearch) -> dict[str, set[str]]:
    return {name: set(index.aliases) for name, index in fake.cluster.indices.items()}


def test_a_first_load_creates_the_months_with_their_aliases(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    report = run_reindex(_store(fake_es, tmp_path), [POSTS[:3], POSTS[3:]])
    assert (report.mode, report.from_versions, report.to_version) == ("load", [], CURRENT)
    assert (report.posts, report.result.inserted) == (6, 6)
    assert report.documents == {V1[0]: 2, V1[1]: 4}
    assert _aliases(fake_es) == {
        V1[0]: {"patrol-posts", "patrol-posts-write-2026.10"},
        V1[1]: {"patrol-posts", "patrol-posts-write-2026.11"},
    }


def test_a_new_mapping_moves_writes_then_reads_and_keeps_live_writes(
    fake_es: FakeElasticsearch, tmp_path: Path, mappings_v2: Path
) -> None:
    _store(fake_es, tmp_path).upsert(POSTS)
    v2 = _store(fake_es, tmp_path, mappings_v2)
    newer = make_analysed("r3", "帖子3 改过", ["帖子", "3", "改过"], published_at=NOVEMBER)

    def sqlite_copy() -> Iterator[list[AnalysedPost]]:
        # Writes are already on v2 when the copy starts; the live pipeline updates a post meanwhile.
        assert _aliases(fake_es)[V2[1]] == {"patrol-posts-write-2026.11"}
        assert v2.upsert([newer]).inserted == 1
        yield POSTS[:3]
        yield POSTS[3:]

    report = run_reindex(v2, sqlite_copy())
    assert (report.mode, report.from_versions, report.to_version) == ("migrate", [CURRENT], NEXT)
    assert report.created_indices == V2 and report.reads_switched
    assert (report.result.inserted, report.result.unchanged) == (5, 1)  # r3: the live copy stays
    assert fake_es.cluster.indices[V2[1]].docs["test-forum:r3"]["analysis"]["tokens"] == ["帖子", "3", "改过"]
    writes, reads = fake_es.cluster.alias_updates  # two atomic updates, writes first
    assert [next(iter(a)) for a in writes] == ["remove", "add", "remove", "add"]
    assert {next(iter(a.values()))["alias"] for a in reads} == {"patrol-posts"}
    assert _aliases(fake_es) == {
        V1[0]: set(),
        V1[1]: set(),
        V2[0]: {"patrol-posts", "patrol-posts-write-2026.10"},
        V2[1]: {"patrol-posts", "patrol-posts-write-2026.11"},
    }
    assert report.old_indices == V1 and report.documents == {V1[0]: 2, V1[1]: 4, V2[0]: 2, V2[1]: 4}

    again = run_reindex(v2, [POSTS[:3], [newer, *POSTS[4:]]], delete_old=True)
    assert again.mode == "load" and again.result.unchanged == 6
    assert again.deleted_indices == V1 and sorted(fake_es.cluster.indices) == V2


def test_a_migration_with_dead_letters_keeps_reads_until_a_rerun_finishes_it(
    fake_es: FakeElasticsearch, tmp_path: Path, mappings_v2: Path
) -> None:
    _store(fake_es, tmp_path).upsert(POSTS)
    v2 = _store(fake_es, tmp_path, mappings_v2)
    fake_es.cluster.bulk_plan = [("fail_items", {"test-forum:r1": (400, "mapper_parsing_exception")})]
    first = run_reindex(v2, [POSTS])
    assert first.result.failed == 1 and not first.reads_switched
    assert "patrol-posts" in _aliases(fake_es)[V1[0]] and "patrol-posts" not in _aliases(fake_es)[V2[0]]
    second = run_reindex(v2, [POSTS], delete_old=True)
    assert second.mode == "migrate" and second.reads_switched
    # r1 comes again in this run's posts, which supersede its dead letter: sent and counted once.
    assert (second.result.retried, second.result.inserted, second.result.unchanged) == (0, 1, 5)
    assert second.deleted_indices == V1 and v2.dead_letters.pending() == []
    assert sorted(fake_es.cluster.all_docs()) == sorted(p.post.id for p in POSTS)


def test_the_scheme_ids_rollout_carries_every_match_sqlite_recorded(
    fake_es: FakeElasticsearch, tmp_path: Path, mappings_v1_only: Path
) -> None:
    sqlite = SqlitePostStore(tmp_path / "patrol.db")
    sqlite.upsert(POSTS)
    matches = [("test-forum:r0", "scheme-a"), ("test-forum:r3", "scheme-a"), ("test-forum:r3", "scheme-b")]
    assert sqlite.record_scheme_matches(matches).added == 3
    old = _store(fake_es, tmp_path, mappings_v1_only)
    assert old.upsert(POSTS).inserted == 6  # the cluster as it was: v1 indices, no scheme_ids field
    # Before the alias swap the v1 indices refuse the field: counted, with what to do; SQLite has them.
    refused = old.record_scheme_matches(matches[:1])
    assert refused.failed == 1 and "run `patrol reindex`" in refused.failures[0]

    new = _store(fake_es, tmp_path, scheme_ids=sqlite.scheme_ids_of)
    report = run_reindex(new, sqlite.iter_posts(batch_size=4))
    assert (report.mode, report.from_versions, report.to_version) == ("migrate", [1], CURRENT)
    assert report.reads_switched and report.result.inserted == 6
    november = fake_es.cluster.indices[f"patrol-posts-v{CURRENT}-2026.11.01"].docs
    october = fake_es.cluster.indices[f"patrol-posts-v{CURRENT}-2026.10.01"].docs
    assert october["test-forum:r0"]["scheme_ids"] == ["scheme-a"]
    assert november["test-forum:r3"]["scheme_ids"] == ["scheme-a", "scheme-b"]
    assert "scheme_ids" not in november["test-forum:r4"]
    # After the swap a new match lands in the new index, through the month's write alias.
    assert new.record_scheme_matches([("test-forum:r4", "scheme-c")]).added == 1
    assert november["test-forum:r4"]["scheme_ids"] == ["scheme-c"]
    sqlite.close()


def test_the_command_reads_the_sqlite_store(
    fake_es: FakeElasticsearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    sqlite = SqlitePostStore(data_dir / "patrol.db")
    sqlite.upsert(POSTS)
    sqlite.record_scheme_matches([("test-forum:r5", "scheme-a")])
    sqlite.close()
    monkeypatch.setenv("PATROL_ES_URL", fake_es.url)
    app = __import__("typer").Typer()
    app.command()(reindex)
    outcome = CliRunner().invoke(app, ["--data-dir", str(data_dir), "--json", "--batch-size", "4"])
    assert outcome.exit_code == 0, outcome.output
    assert '"inserted": 6' in outcome.output
    assert sorted(fake_es.cluster.all_docs()) == sorted(p.post.id for p in POSTS)
    # The copy reads the schemes SQLite recorded, so search by scheme works on the cluster too.
    november = fake_es.cluster.indices[f"patrol-posts-v{CURRENT}-2026.11.01"].docs
    assert november["test-forum:r5"]["scheme_ids"] == ["scheme-a"]
    monkeypatch.delenv("PATROL_ES_URL")
    refused = CliRunner().invoke(app, ["--data-dir", str(data_dir)])
    assert refused.exit_code == 2 and "PATROL_ES_URL is not set" in refused.output
