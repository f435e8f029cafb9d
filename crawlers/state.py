"""Per-source incremental crawl state: what the last passes already landed.

One JSON file per source, `<data_dir>/state/<source_id>.json`, replaced atomically. The landing
pipeline saves it only after the batch holding the posts it describes has been renamed into place,
so a crash can lose at most work that is redone next pass, never posts.

- Discuz: per thread, the reply count and last-post time the list showed when the thread was last
  fully fetched, and the last page fetched; a thread whose numbers are unchanged is skipped and a
  changed one is fetched from the page of its first new floor.
- Weibo: per container, the highest mid landed (a high-water mark); per weibo, the highest comment
  id landed and the comment count then.
- Tieba and profile forums: per thread, like Discuz (reply count or last-post time, pages, floors).
- Feeds: per feed URL, the validators for a conditional GET (`ETag`, `Last-Modified`), the newest
  entry time landed (a high-water mark) and the keys of the entries landed recently.
- Articles: the URLs already landed (a hash each, with when), so a list page costs one request and
  only new article links are followed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from patrol.schema import utcnow

logger = logging.getLogger(__name__)

STATE_VERSION = 1
#: Threads kept in state; the least recently active are forgotten first (re-crawled if they revive).
MAX_THREADS = 50_000
MAX_COMMENT_MARKS = 5_000
#: Entry keys remembered per feed: more than any feed shows at once, so a seen entry is never new again.
MAX_FEED_KEYS = 1_000
#: Article URLs remembered per source; the oldest are forgotten first.
MAX_SEEN_URLS = 50_000


class ThreadState(BaseModel):
    replies: int = Field(ge=0, description="reply count the thread list showed")
    last_post_at: AwareDatetime | None = None
    last_page: int = Field(1, ge=1, description="last thread page fetched")
    floors: int = Field(0, ge=0, description="highest floor number landed")
    per_page: int = Field(10, ge=1, description="floors per thread page, as last observed")
    # Profile forums: pages are followed by their links, so where to resume is a URL.
    signature: str | None = Field(None, description="the list row's changing text when last fetched")
    last_url: str | None = Field(None, description="URL of the last thread page fetched")
    last_ids: list[str] = Field(default_factory=list, description="post ids on that page")
    last_first_floor: int = Field(1, ge=1, description="floor number of that page's first post")


class ContainerState(BaseModel):
    max_mid: int = Field(description="highest weibo mid landed from this container")


class CommentMark(BaseModel):
    max_id: int = Field(description="highest comment id landed for this weibo")
    count: int = Field(0, ge=0, description="comments_count the weibo showed then")


class FeedState(BaseModel):
    etag: str | None = None
    last_modified: str | None = None
    latest_at: AwareDatetime | None = Field(None, description="newest entry time landed (high-water mark)")
    keys: list[str] = Field(default_factory=list, description="entry keys landed, newest last")

    def merged(self, newer: FeedState) -> FeedState:
        """This mark advanced by a later pass's: keys united (bounded), the later validators."""
        keys = list(dict.fromkeys([*self.keys, *newer.keys]))[-MAX_FEED_KEYS:]
        times = [t for t in (self.latest_at, newer.latest_at) if t is not None]
        return FeedState(
            etag=newer.etag,
            last_modified=newer.last_modified,
            latest_at=max(times) if times else None,
            keys=keys,
        )


def url_key(url: str) -> str:
    """A short stable key for a URL in state (the URL itself may be long)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


class SourceState(BaseModel):
    version: int = STATE_VERSION
    source_id: str
    updated_at: AwareDatetime | None = None
    threads: dict[str, ThreadState] = Field(default_factory=dict)
    containers: dict[str, ContainerState] = Field(default_factory=dict)
    comments: dict[str, CommentMark] = Field(default_factory=dict)
    feeds: dict[str, FeedState] = Field(default_factory=dict)
    seen_urls: dict[str, AwareDatetime] = Field(default_factory=dict, description="url_key -> first landed")

    def prune(self) -> None:
        """Bound the file: forget the least recently active threads and the oldest comment marks."""
        if len(self.threads) > MAX_THREADS:
            floor = datetime.min.replace(tzinfo=utcnow().tzinfo)
            ranked = sorted(self.threads.items(), key=lambda kv: kv[1].last_post_at or floor, reverse=True)
            self.threads = dict(ranked[:MAX_THREADS])
        if len(self.comments) > MAX_COMMENT_MARKS:
            ranked_marks = sorted(self.comments.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
            self.comments = dict(ranked_marks[-MAX_COMMENT_MARKS:])
        if len(self.seen_urls) > MAX_SEEN_URLS:
            ranked_urls = sorted(self.seen_urls.items(), key=lambda kv: kv[1])
            self.seen_urls = dict(ranked_urls[-MAX_SEEN_URLS:])


class StateUpdate(BaseModel):
    """One change to a source's state, yielded by a spider after the posts it covers.

    It travels through the item pipeline behind those posts, so the pipeline knows which batch it
    depends on and applies it only once that batch has been renamed.
    """

    thread: tuple[str, ThreadState] | None = None
    container: tuple[str, ContainerState] | None = None
    comment: tuple[str, CommentMark] | None = None
    feed: tuple[str, FeedState] | None = None
    seen_urls: list[str] = Field(default_factory=list, description="article URLs landed")

    def apply_to(self, state: SourceState) -> None:
        if self.thread is not None:
            state.threads[self.thread[0]] = self.thread[1]
        if self.container is not None:
            key, value = self.container
            current = state.containers.get(key)
            if current is None or value.max_mid > current.max_mid:
                state.containers[key] = value
        if self.comment is not None:
            key, mark = self.comment
            current_mark = state.comments.get(key)
            if current_mark is None or mark.max_id >= current_mark.max_id:
                state.comments[key] = mark
        if self.feed is not None:
            url, feed = self.feed
            known = state.feeds.get(url)
            state.feeds[url] = feed if known is None else known.merged(feed)
        if self.seen_urls:
            now = utcnow()
            for url in self.seen_urls:
                state.seen_urls.setdefault(url_key(url), now)


def state_path(data_dir: Path, source_id: str) -> Path:
    return data_dir / "state" / f"{source_id}.json"


class StateFileError(ValueError):
    """A state file that cannot be read; the crawl starts from scratch and reports it."""


def load_state(data_dir: Path, source_id: str) -> SourceState:
    """The saved state, an empty one for a new source, or `StateFileError` for a damaged file."""
    path = state_path(data_dir, source_id)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SourceState(source_id=source_id)
    try:
        state = SourceState.model_validate_json(raw)
    except ValidationError as exc:
        raise StateFileError(
            f"{path}: damaged crawl state ({exc.error_count()} problems); "
            "it will be rebuilt by a full crawl. "
            "Delete the file to silence this."
        ) from exc
    if state.source_id != source_id:
        raise StateFileError(f"{path}: holds state of source {state.source_id!r}, not {source_id!r}")
    return state


def save_state(data_dir: Path, state: SourceState) -> Path:
    """Write the state atomically: a temporary file in the same folder, fsync, rename over."""
    path = state_path(data_dir, state.source_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    state.updated_at = utcnow()
    state.prune()
    payload = json.dumps(state.model_dump(mode="json"), ensure_ascii=False, indent=1)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{state.source_id}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
