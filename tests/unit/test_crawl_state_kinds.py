"""State for feeds and articles: marks merge forward, keys stay bounded, files round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers import state as state_module
from crawlers.state import FeedState, SourceState, StateUpdate, load_state, save_state, url_key

T0 = datetime(2026, 11, 28, tzinfo=UTC)


def test_feed_marks_merge_forward_and_stay_bounded() -> None:
    state = SourceState(source_id="blogs")
    StateUpdate(feed=("http://a.cn/rss", FeedState(etag='"1"', latest_at=T0, keys=["a", "b"]))).apply_to(state)
    StateUpdate(
        feed=("http://a.cn/rss", FeedState(etag='"2"', latest_at=T0 - timedelta(days=1), keys=["b", "c"]))
    ).apply_to(state)
    mark = state.feeds["http://a.cn/rss"]
    assert (mark.etag, mark.latest_at, mark.keys) == ('"2"', T0, ["a", "b", "c"])  # the mark never goes back
    many = FeedState(keys=[str(n) for n in range(state_module.MAX_FEED_KEYS + 50)])
    assert len(mark.merged(many).keys) == state_module.MAX_FEED_KEYS


def test_article_urls_are_remembered_by_key_and_survive_a_save(tmp_path: Path) -> None:
    state = SourceState(source_id="news")
    StateUpdate(seen_urls=["http://n.cn/a/1.html", "http://n.cn/a/2.html"]).apply_to(state)
    save_state(tmp_path, state)
    loaded = load_state(tmp_path, "news")
    assert url_key("http://n.cn/a/1.html") in loaded.seen_urls and len(loaded.seen_urls) == 2


def test_old_state_files_without_the_new_sections_still_load(tmp_path: Path) -> None:
    path = tmp_path / "state" / "forum.json"
    path.parent.mkdir()
    path.write_text('{"version": 1, "source_id": "forum", "threads": {"7": {"replies": 3}}}', encoding="utf-8")
    loaded = load_state(tmp_path, "forum")
    assert loaded.threads["7"].replies == 3 and loaded.feeds == {} and loaded.seen_urls == {}
    assert loaded.threads["7"].last_ids == [] and loaded.threads["7"].signature is None
