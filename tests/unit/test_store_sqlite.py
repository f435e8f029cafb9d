from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from patrol.store.base import SearchFilters
from patrol.store.sqlite import SqlitePostStore, scheme_ids_reader
from patrol.thresholds import Thresholds
from tests.conftest import make_analysed


def _store(tmp_path: Path) -> SqlitePostStore:
    return SqlitePostStore(tmp_path / "patrol.db", thresholds=Thresholds(default=0.5))


def test_upsert_twice_changes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    batch = [
        make_analysed("1", "香坊 燃气 泄漏", ["香坊", "燃气", "泄漏"], scores={"public_hazard": 0.9}),
        make_analysed("2", "今天 天气 不错", ["今天", "天气", "不错"]),
    ]
    first = store.upsert(batch)
    second = store.upsert(batch)
    assert (first.inserted, first.updated) == (2, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert store.count() == 2


def test_changed_post_is_updated_in_place_and_reindexed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert([make_analysed("1", "旧 内容", ["旧", "内容"])])
    result = store.upsert([make_analysed("1", "新 消息", ["新", "消息"])])
    assert result.updated == 1 and store.count() == 1
    assert store.search("内容").total == 0
    assert store.search("消息").total == 1


def test_search_ranks_highlights_and_filters(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert(
        [
            make_analysed(
                "1",
                "通乡社区燃气泄漏，味道很大",
                ["通乡社区", "燃气", "泄漏", "味道", "很大"],
                scores={"public_hazard": 0.8},
                jurisdiction="xf-xiangfang",
            ),
            make_analysed("2", "燃气费又涨了", ["燃气费", "又", "涨", "了"], source_id="other"),
            make_analysed("3", "学府路堵车", ["学府路", "堵车"]),
        ]
    )
    page = store.search("燃气 泄漏")
    assert [h.post_id for h in page.hits] == ["test-forum:1"]
    assert "<mark>燃气</mark>" in page.hits[0].snippet_html
    assert store.search("学府路", SearchFilters(sources=["other"])).total == 0
    flagged = store.search("", SearchFilters(categories=["public_hazard"]))
    assert [h.post_id for h in flagged.hits] == ["test-forum:1"]
    assert store.search("", SearchFilters(jurisdictions=["xf-xiangfang"])).total == 1
    assert store.search("", SearchFilters(min_risk=0.5)).total == 1
    assert store.search("", SearchFilters(since=datetime(2030, 1, 1, tzinfo=UTC))).total == 0


def test_query_syntax_in_user_text_is_not_fts_syntax(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert([make_analysed("1", "body text", ["body", "text"])])
    # FTS5 operators and column filters typed by a user are searched as plain words, never parsed.
    for query in ['body:"x', "NEAR(body text)", "text OR", '"', "*"]:
        store.search(query)
    assert store.search("body").total == 1


def test_snippets_escape_hostile_text(tmp_path: Path) -> None:
    store = _store(tmp_path)
    hostile = "<script>alert(1)</script>燃气<img src=x onerror=alert(2)>\u202eevil"
    store.upsert([make_analysed("1", hostile, ["script", "燃气", "img"])])
    snippet = store.search("燃气").hits[0].snippet_html
    assert "<script>" not in snippet and "<img" not in snippet
    assert "&lt;script&gt;" in snippet and "<mark>燃气</mark>" in snippet
    assert "\u202e" not in snippet


def test_bad_row_fails_that_row_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    good = make_analysed("1", "正常", ["正常"])
    bad = make_analysed("2", "正常", ["正常"])
    bad.analysis.risk_scores = {"fraud": float("nan")}  # NaN cannot be compared or ranked
    bad.post.text = "\ud800"  # a lone surrogate cannot be encoded for SQLite
    result = store.upsert([good, bad])
    assert result.inserted == 1 and result.failed == 1
    assert result.failures[0].startswith("test-forum:2")
    assert store.get("test-forum:1") is not None


def test_top_keywords(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert([make_analysed(str(i), "燃气 泄漏", ["燃气", "泄漏"]) for i in range(3)])
    store.upsert([make_analysed("9", "堵车", ["堵车"])])
    assert store.top_keywords(1) == [("燃气", 3)]


def test_scheme_matches_are_recorded_once_for_stored_posts_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.upsert([make_analysed(str(i), "燃气 泄漏", ["燃气", "泄漏"]) for i in range(3)])
    pairs = [("test-forum:1", "gas"), ("test-forum:1", "leak"), ("test-forum:2", "gas")]
    first = store.record_scheme_matches([*pairs, ("test-forum:9", "gas"), pairs[0]])
    assert (first.added, first.unchanged, first.missing, first.failed) == (3, 0, 1, 0)
    assert store.record_scheme_matches(pairs).unchanged == 3
    rows = store._conn.execute("SELECT count(*) FROM post_scheme_matches").fetchone()[0]
    assert rows == 3  # the unknown post got no row
    assert store.scheme_ids_of(["test-forum:1", "test-forum:2", "test-forum:0"]) == {
        "test-forum:1": ["gas", "leak"],
        "test-forum:2": ["gas"],
    }
    assert store.search("", SearchFilters(schemes=["leak"])).total == 1
    assert store.delete_posts(["test-forum:1"]) == 1
    assert store.scheme_ids_of(["test-forum:1"]) == {}  # deleting a post deletes its matches
    assert store.search("", SearchFilters(schemes=["gas"])).total == 1


def test_a_file_from_before_the_store_owned_the_table_still_records(tmp_path: Path) -> None:
    path = tmp_path / "patrol.db"
    with sqlite3.connect(path) as conn:  # the table as the scheme index created it, with match terms
        conn.executescript(
            "CREATE TABLE post_scheme_matches (scheme_id TEXT NOT NULL, post_id TEXT NOT NULL,"
            " matched_at TEXT NOT NULL, terms TEXT NOT NULL DEFAULT '', PRIMARY KEY (scheme_id, post_id))"
            " WITHOUT ROWID;"
        )
    conn.close()
    store = SqlitePostStore(path)
    store.upsert([make_analysed("1", "燃气", ["燃气"])])
    assert store.record_scheme_matches([("test-forum:1", "gas")]).added == 1
    assert [h.post_id for h in store.search("", SearchFilters(schemes=["gas"])).hits] == ["test-forum:1"]
    store.close()


def test_the_read_only_lookup_needs_neither_the_file_nor_the_table(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert scheme_ids_reader(missing)(["test-forum:1"]) == {}
    assert not missing.exists()  # read-only: nothing created
    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).close()
    assert scheme_ids_reader(bare)(["test-forum:1"]) == {}
    store = _store(tmp_path)
    store.upsert([make_analysed("1", "燃气", ["燃气"])])
    store.record_scheme_matches([("test-forum:1", "gas")])
    assert scheme_ids_reader(store.path)(["test-forum:1", "test-forum:2"]) == {"test-forum:1": ["gas"]}
