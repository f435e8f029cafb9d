"""The mapping files and the indexer agree: every field the indexer writes is mapped, with the right type.

The document under test comes from the indexer's own `post_document()` on a post that fills every
optional field and that schemes matched, so a field added to the schema or the indexer without a
mapping fails here. The
"client accepts" checks send the files through the real `elasticsearch` client to the fake upstream
in `test_es_fake.py` (no Elasticsearch engine can run on the build machines).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from patrol.schema import RISK_CATEGORIES, AnalysedPost, Analysis, Evidence, PlaceTag, Post
from patrol.store.elastic import MAPPINGS_DIR, ElasticPostStore, IndexNames, mapping_version, post_document
from patrol.store.elastic.layout import load_posts_template, load_retention_policy, template_request
from patrol.thresholds import Thresholds
from tests.unit.test_es_fake import FakeElasticsearch, mapping_violations

VERSION = mapping_version()
PROPERTIES: dict[str, Any] = load_posts_template(VERSION)["template"]["mappings"]["properties"]


def _everything_post() -> AnalysedPost:
    post = Post(
        id="bbs:1001",
        source_id="bbs",
        native_id="1001",
        kind="forum_post",
        url="https://bbs.example/t/9#1",
        thread_id="9",
        thread_title="香坊 燃气 泄漏",
        floor=1,
        author="某网友",
        title="燃气味很大",
        text="通乡社区燃气泄漏，味道很大",
        quote="楼上说的是",
        published_at=datetime(2026, 11, 27, 5, tzinfo=UTC),
        fetched_at=datetime(2026, 11, 27, 6, tzinfo=UTC),
        repost_of="bbs:1000",
        reply_count=3,
        jurisdiction_hint="xf-tongxiang",
    )
    analysis = Analysis(
        post_id=post.id,
        normalized_text="通乡社区燃气泄漏,味道很大",
        tokens=["通乡社区", "燃气", "泄漏"],
        keywords=["燃气", "泄漏"],
        risk_scores={c: 0.1 + i / 10 for i, c in enumerate(RISK_CATEGORIES)},
        evidence=[
            Evidence(
                category="public_hazard",
                signal="lexicon",
                rule="hazard.gas",
                term="燃气泄漏",
                start=4,
                end=8,
                weight=0.8,
            )
        ],
        contexts=["past_news"],
        places=[PlaceTag(name="通乡社区", level="community", unit="xf-tongxiang", start=0, end=4)],
        jurisdiction="xf-tongxiang",
        sentiment=-0.6,
        sentiment_label="negative",
        simhash=-(2**63),
        scorer="lexicon:v1",
    )
    return AnalysedPost(post=post, analysis=analysis)


DOC = post_document(_everything_post(), str.split, Thresholds(default=0.5), ["scheme-b", "scheme-a", "scheme-b"])


def _leaves(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in doc.items():
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, dict):
            out.update(_leaves(first, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def _mapped(properties: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        if "properties" in spec:
            out.update(_mapped(spec["properties"], f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = spec
    return out


def _is_datetime(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def test_every_file_is_valid_json() -> None:
    files = sorted(MAPPINGS_DIR.glob("*.json"))
    assert {f.name for f in files} >= {f"posts.v{VERSION}.json", "ilm-posts-retention.json"}
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))


def test_the_mapping_is_strict_everywhere() -> None:
    mappings = load_posts_template(VERSION)["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    assert "dynamic" not in json.dumps(mappings["properties"])  # no object loosens it again


def test_every_field_the_indexer_writes_is_mapped_with_the_right_type() -> None:
    assert mapping_violations(DOC, PROPERTIES) == []
    leaves, mapped = _leaves(DOC), _mapped(PROPERTIES)
    assert set(leaves) == set(mapped), "a field is written but not mapped, or mapped but never written"
    for path, value in leaves.items():
        kind = mapped[path]["type"]
        sample = value[0] if isinstance(value, list) else value
        if _is_datetime(sample):
            assert kind == "date", path
        elif isinstance(sample, float):
            assert kind == "double", f"{path}: scores compare exactly as in SQLite only as doubles"
        elif isinstance(sample, int):
            assert kind in {"integer", "long"}, path
        else:
            assert kind in {"keyword", "text"}, path


@pytest.mark.parametrize(
    "path",
    [
        "id",
        "source_id",
        "kind",
        "top_category",
        "flagged_categories",
        "analysis.jurisdiction",
        "analysis.keywords",
        "analysis.sentiment_label",
        "scheme_ids",
    ],
)
def test_ids_sources_categories_and_jurisdictions_are_keywords(path: str) -> None:
    assert _mapped(PROPERTIES)[path]["type"] == "keyword"


def test_segmented_text_goes_through_a_whitespace_analyzer_and_raw_text_is_display_only() -> None:
    template = load_posts_template(VERSION)["template"]
    analyzer = template["settings"]["index"]["analysis"]["analyzer"]["patrol_tokens"]
    assert analyzer == {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]}
    mapped = _mapped(PROPERTIES)
    for path in ("analysis.tokens", "title_tokens"):
        assert mapped[path] == {"type": "text", "analyzer": "patrol_tokens"}
    for path in ("text", "title", "analysis.normalized_text"):
        assert mapped[path] == {"type": "text", "index": False}
    assert mapped["author"]["index"] is False and mapped["author"]["doc_values"] is False  # no profiling
    assert DOC["analysis"]["tokens"] == ["通乡社区", "燃气", "泄漏"]


def test_scheme_ids_are_written_sorted_once_and_only_when_a_scheme_matched() -> None:
    assert DOC["scheme_ids"] == ["scheme-a", "scheme-b"]
    assert "scheme_ids" not in post_document(_everything_post(), str.split, Thresholds())


def test_every_shipped_version_differs_from_the_one_before_by_added_fields_only() -> None:
    """A new version adds fields and an alias swap (`patrol reindex`) moves to it; until then writes
    land in the older indices, which take any document that does not use the new fields."""
    for version in range(2, VERSION + 1):
        older = _mapped(load_posts_template(version - 1)["template"]["mappings"]["properties"])
        newer = _mapped(load_posts_template(version)["template"]["mappings"]["properties"])
        assert {path: newer[path] for path in older} == older, f"v{version} changes a field of v{version - 1}"
    without_schemes = post_document(_everything_post(), str.split, Thresholds(default=0.5))
    v1 = load_posts_template(1)["template"]["mappings"]["properties"]
    assert mapping_violations(without_schemes, v1) == []
    assert mapping_violations(DOC, v1) == ["scheme_ids: not mapped (dynamic: strict)"]


def test_simhash_and_every_risk_category_fit_their_fields() -> None:
    mapped = _mapped(PROPERTIES)
    assert mapped["analysis.simhash"]["type"] == "long"
    assert {p.rsplit(".", 1)[1] for p in mapped if p.startswith("analysis.risk_scores.")} == set(RISK_CATEGORIES)


def test_index_names_match_the_template_and_give_ilm_the_month() -> None:
    names = IndexNames()
    index = names.index(VERSION, "2026.11")
    request = template_request(names, VERSION)
    assert re.fullmatch(request["index_patterns"][0].replace(".", r"\.").replace("*", ".*"), index)
    assert not re.fullmatch(request["index_patterns"][0].replace("*", ".*"), names.write_alias("2026.11"))
    # ILM's parse_origination_date reads yyyy.MM.dd at the end of the name.
    assert re.fullmatch(r"^.*-(\d{4}\.\d{2}\.\d{2})(-\d+)?$", index)
    settings = request["template"]["settings"]["index"]["lifecycle"]
    assert settings == {"name": names.policy, "parse_origination_date": True}
    test_names = IndexNames("patrol-test")
    assert template_request(test_names, VERSION)["index_patterns"] == [f"patrol-test-posts-v{VERSION}-*"]


def test_the_client_accepts_the_files_and_the_store_installs_them(tmp_path: Path) -> None:
    with FakeElasticsearch() as fake:
        client = Elasticsearch(fake.url)
        client.ilm.put_lifecycle(name="p", policy=load_retention_policy()["policy"])
        client.indices.put_index_template(**template_request(IndexNames(), VERSION))
        client.close()
        sent = fake.cluster.templates[f"patrol-posts-v{VERSION}"]
        assert sent["template"]["mappings"] == load_posts_template(VERSION)["template"]["mappings"]
        assert sent["_meta"]["mapping_version"] == VERSION
        assert fake.cluster.policies["p"]["policy"]["phases"]["delete"]["actions"] == {"delete": {}}

        store = ElasticPostStore.from_url(fake.url, dead_letter_path=tmp_path / "dl.jsonl", prefix="other")
        assert store.upsert([_everything_post()]).inserted == 1
        assert set(fake.cluster.policies) == {"p", "other-posts-retention"}
        stored = fake.cluster.indices[f"other-posts-v{VERSION}-2026.11.01"].docs["bbs:1001"]
        assert stored == post_document(_everything_post(), str.split, Thresholds())

        assert store.delete_prefix() == [f"other-posts-v{VERSION}-2026.11.01"]
        assert set(fake.cluster.indices) == set() and set(fake.cluster.policies) == {"p"}
        assert set(fake.cluster.templates) == {f"patrol-posts-v{VERSION}"}
        store.close()
