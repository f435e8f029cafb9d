"""Crawl state files and the landing pipeline: atomic batches, rotation, dedup, state behind data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawlers.pipelines import LandingBatchPipeline
from crawlers.state import (
    ContainerState,
    SourceState,
    StateFileError,
    StateUpdate,
    ThreadState,
    load_state,
    save_state,
    state_path,
)
from patrol.schema import Post, make_post_id

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def post(native_id: str) -> Post:
    return Post(
        id=make_post_id("forum", native_id),
        source_id="forum",
        native_id=native_id,
        kind="forum_post",
        url=f"http://bbs.example.cn/forum.php?mod=redirect&goto=findpost&ptid=1&pid={native_id}",
        text=f"第{native_id}楼",
        published_at=T0,
        fetched_at=T0,
    )


def thread_update(tid: str, replies: int) -> StateUpdate:
    return StateUpdate(thread=(tid, ThreadState(replies=replies, floors=replies + 1, last_post_at=T0)))


def open_pipeline(data_dir: Path, max_items: int = 3, pass_id: str = "p1") -> LandingBatchPipeline:
    crawler = get_crawler(Spider, {"PATROL_DATA_DIR": str(data_dir), "PATROL_BATCH_MAX_ITEMS": max_items})
    spider = Spider(name="discuz")
    spider.source_id = "forum"  # type: ignore[attr-defined]
    spider.pass_id = pass_id  # type: ignore[attr-defined]
    crawler.spider = spider
    pipeline = LandingBatchPipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_state_round_trips_atomically(tmp_path: Path) -> None:
    state = SourceState(source_id="forum")
    thread_update("7", 12).apply_to(state)
    StateUpdate(container=("1076031", ContainerState(max_mid=500))).apply_to(state)
    StateUpdate(container=("1076031", ContainerState(max_mid=400))).apply_to(state)  # never goes back
    path = save_state(tmp_path, state)
    assert path == state_path(tmp_path, "forum")
    assert [p.name for p in path.parent.iterdir()] == ["forum.json"]  # no temporary file left
    loaded = load_state(tmp_path, "forum")
    assert loaded.threads["7"].replies == 12
    assert loaded.containers["1076031"].max_mid == 500
    assert load_state(tmp_path, "other").threads == {}


def test_damaged_or_foreign_state_is_refused_with_advice(tmp_path: Path) -> None:
    path = state_path(tmp_path, "forum")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateFileError, match="rebuilt by a full crawl"):
        load_state(tmp_path, "forum")
    save_state(tmp_path, SourceState(source_id="weibo"))
    state_path(tmp_path, "weibo").rename(path)
    with pytest.raises(StateFileError, match="holds state of source 'weibo'"):
        load_state(tmp_path, "forum")


def test_batches_rotate_and_are_renamed_only_when_complete(tmp_path: Path) -> None:
    pipeline = open_pipeline(tmp_path, max_items=3)
    landing = tmp_path / "landing" / "forum"
    for native_id in ("1", "2"):
        pipeline.process_item(post(native_id))
    assert [p.name for p in landing.iterdir()] == ["p1-0001.jsonl.tmp"]
    pipeline.process_item(post("3"))
    assert sorted(p.name for p in landing.iterdir()) == ["p1-0001.jsonl"]
    pipeline.process_item(post("4"))
    pipeline.close_spider()
    assert sorted(p.name for p in landing.iterdir()) == ["p1-0001.jsonl", "p1-0002.jsonl"]
    assert [row["native_id"] for row in lines(landing / "p1-0001.jsonl")] == ["1", "2", "3"]
    assert lines(landing / "p1-0002.jsonl")[0]["text"] == "第4楼"  # UTF-8, not \\u escapes
    assert "第4楼" in (landing / "p1-0002.jsonl").read_text(encoding="utf-8")


def test_duplicates_within_a_pass_are_dropped(tmp_path: Path) -> None:
    pipeline = open_pipeline(tmp_path)
    pipeline.process_item(post("1"))
    with pytest.raises(DropItem):
        pipeline.process_item(post("1"))
    pipeline.close_spider()
    assert len(lines(tmp_path / "landing" / "forum" / "p1-0001.jsonl")) == 1


def test_state_is_saved_only_after_its_batch_is_renamed(tmp_path: Path) -> None:
    pipeline = open_pipeline(tmp_path, max_items=3)
    pipeline.process_item(post("1"))
    pipeline.process_item(thread_update("1", 0))
    # The post of this update is still in a .tmp batch: a crash now must not advance the state.
    assert not state_path(tmp_path, "forum").exists()
    pipeline.process_item(post("2"))
    pipeline.process_item(post("3"))  # batch full -> renamed -> state saved
    assert load_state(tmp_path, "forum").threads["1"].replies == 0
    pipeline.process_item(post("4"))
    pipeline.process_item(thread_update("2", 5))
    assert "2" not in load_state(tmp_path, "forum").threads
    pipeline.close_spider()
    assert load_state(tmp_path, "forum").threads["2"].replies == 5


def test_an_update_with_no_open_batch_is_saved_at_once(tmp_path: Path) -> None:
    pipeline = open_pipeline(tmp_path)
    pipeline.process_item(thread_update("9", 3))
    assert load_state(tmp_path, "forum").threads["9"].replies == 3
    pipeline.close_spider()


def test_empty_crawl_lands_nothing_and_rerun_keeps_earlier_batches(tmp_path: Path) -> None:
    empty = open_pipeline(tmp_path)
    empty.close_spider()
    assert list((tmp_path / "landing" / "forum").iterdir()) == []
    first = open_pipeline(tmp_path)
    first.process_item(post("1"))
    first.close_spider()
    # A crashed run left a half-written batch; a re-run of the same pass removes it and numbers on.
    (tmp_path / "landing" / "forum" / "p1-0002.jsonl.tmp").write_text('{"half', encoding="utf-8")
    again = open_pipeline(tmp_path)
    again.process_item(post("2"))
    again.close_spider()
    assert sorted(p.name for p in (tmp_path / "landing" / "forum").iterdir()) == ["p1-0001.jsonl", "p1-0002.jsonl"]
    assert lines(tmp_path / "landing" / "forum" / "p1-0002.jsonl")[0]["native_id"] == "2"


def test_two_crawls_of_one_source_cannot_run_at_once(tmp_path: Path) -> None:
    first = open_pipeline(tmp_path)
    with pytest.raises(RuntimeError, match="another crawl of source 'forum' is running"):
        open_pipeline(tmp_path, pass_id="p2")
    first.close_spider()
    open_pipeline(tmp_path, pass_id="p2").close_spider()
