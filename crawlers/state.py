"""Per-source incremental crawl state: what the last passes already landed.

One JSON file per source, `<data_dir>/state/<source_id>.json`, replaced atomically. The landing
pipeline saves it only after the batch holding the posts it describes has been renamed into place,
so a crash can lose at most work that is redone next pass, never posts.

- Discuz: per thread, the reply count and last-post time the list showed when the thread was last
  fully fetched, and the last page fetched; a thread whose numbers are unchanged is skipped and a
  changed one is fetched from the page of its first new floor.
- Weibo: per container, the highest mid landed (a high-water mark); per weibo, the highest comment
  id landed and the comment count then.
"""

from __future__ import annotations

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


class ThreadState(BaseModel):
    replies: int = Field(ge=0, description="reply count the thread list showed")
    last_post_at: AwareDatetime | None = None
    last_page: int = Field(1, ge=1, description="last thread page fetched")
    floors: int = Field(0, ge=0, description="highest floor number landed")
    per_page: int = Field(10, ge=1, description="floors per thread page, as last observed")


class ContainerState(BaseModel):
    max_mid: int = Field(description="highest weibo mid landed from this container")


class CommentMark(BaseModel):
    max_id: int = Field(description="highest comment id landed for this weibo")
    count: int = Field(0, ge=0, description="comments_count the weibo showed then")


class SourceState(BaseModel):
    version: int = STATE_VERSION
    source_id: str
    updated_at: AwareDatetime | None = None
    threads: dict[str, ThreadState] = Field(default_factory=dict)
    containers: dict[str, ContainerState] = Field(default_factory=dict)
    comments: dict[str, CommentMark] = Field(default_factory=dict)

    def prune(self) -> None:
        """Bound the file: forget the least recently active threads and the oldest comment marks."""
        if len(self.threads) > MAX_THREADS:
            floor = datetime.min.replace(tzinfo=utcnow().tzinfo)
            ranked = sorted(self.threads.items(), key=lambda kv: kv[1].last_post_at or floor, reverse=True)
            self.threads = dict(ranked[:MAX_THREADS])
        if len(self.comments) > MAX_COMMENT_MARKS:
            ranked_marks = sorted(self.comments.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
            self.comments = dict(ranked_marks[-MAX_COMMENT_MARKS:])


class StateUpdate(BaseModel):
    """One change to a source's state, yielded by a spider after the posts it covers.

    It travels through the item pipeline behind those posts, so the pipeline knows which batch it
    depends on and applies it only once that batch has been renamed.
    """

    thread: tuple[str, ThreadState] | None = None
    container: tuple[str, ContainerState] | None = None
    comment: tuple[str, CommentMark] | None = None

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
