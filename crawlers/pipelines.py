"""Landing batches: posts as JSON lines, written under a temporary name and renamed when complete.

`<PATROL_DATA_DIR>/landing/<source_id>/<pass_id>-<seq>.jsonl`, one `Post.model_dump(mode="json")`
per line, UTF-8. A batch is renamed from `.jsonl.tmp` once it holds `PATROL_BATCH_MAX_ITEMS` posts or
the spider closes; downstream stages read only `.jsonl`, so they never see half a batch. Crawl
state updates ride behind their posts and are saved only after the batch holding those posts has
been renamed. Duplicate posts within a pass (a retweeted original seen twice) are dropped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from crawlers.report import batch_landed
from crawlers.state import SourceState, StateFileError, StateUpdate, load_state, save_state
from patrol.schema import Post

logger = logging.getLogger(__name__)


class LandingBatchPipeline:
    """Writes posts to rotating landing batches and commits crawl state behind them."""

    def __init__(self, crawler: Crawler, data_dir: Path, max_items: int) -> None:
        if max_items < 1:
            raise NotConfigured("PATROL_BATCH_MAX_ITEMS must be at least 1")
        self.crawler = crawler
        self.data_dir = data_dir
        self.max_items = max_items
        self.source_id = ""
        self.pass_id = ""
        self.landing_dir = data_dir
        self.state = SourceState(source_id="")
        self._seen_ids: set[str] = set()
        self._seq = 0
        self._handle: IO[str] | None = None
        self._tmp_path: Path | None = None
        self._batch_items = 0
        # Updates whose posts are in the open batch: saved once that batch is renamed.
        self._pending: list[StateUpdate] = []
        self.landed: list[Path] = []
        self._lock: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LandingBatchPipeline:
        data_dir = crawler.settings.get("PATROL_DATA_DIR")
        if not data_dir:
            raise NotConfigured("PATROL_DATA_DIR is not set: the landing pipeline needs a data folder")
        return cls(crawler, Path(data_dir), crawler.settings.getint("PATROL_BATCH_MAX_ITEMS", 5000))

    def open_spider(self) -> None:
        spider = self.crawler.spider
        assert spider is not None, "open_spider runs after the crawler created its spider"
        self.source_id = str(getattr(spider, "source_id", spider.name))
        self.pass_id = str(getattr(spider, "pass_id", "adhoc"))
        self.landing_dir = self.data_dir / "landing" / self.source_id
        self.landing_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._seq = self._last_seq()
        # A crashed crawl may have left half-written batches; their state never advanced, so their
        # posts are fetched again, and only this source's crawl (we hold its lock) writes here.
        for stale in self.landing_dir.glob("*.jsonl.tmp"):
            stale.unlink()
        try:
            self.state = load_state(self.data_dir, self.source_id)
        except StateFileError as exc:
            # The spider reports it; a full crawl rebuilds the state and this save replaces the file.
            logger.warning("event=state_damaged source_id=%s message=%s", self.source_id, exc)
            self.state = SourceState(source_id=self.source_id)

    def _take_lock(self) -> None:
        """One crawl per source at a time: two would interleave batches and race on the state."""
        lock_path = self.data_dir / "state" / f"{self.source_id}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RuntimeError(
                f"another crawl of source {self.source_id!r} is running (lock {lock_path}); "
                "wait for it to finish, or stop it, then run this pass again"
            ) from None
        self._lock = handle

    def _last_seq(self) -> int:
        # A re-run of the same pass id must not overwrite batches the earlier run landed.
        pattern = re.compile(rf"^{re.escape(self.pass_id)}-(\d+)\.jsonl$")
        seqs = [int(m.group(1)) for p in self.landing_dir.iterdir() if (m := pattern.match(p.name))]
        return max(seqs, default=0)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, StateUpdate):
            self._pending.append(item)
            if self._handle is None:
                # Its posts are all in batches already renamed (or it covers none).
                self._commit_state()
            return item
        if not isinstance(item, Post):
            return item
        if item.id in self._seen_ids:
            raise DropItem(f"duplicate post {item.id} in pass {self.pass_id}", log_level="DEBUG")
        self._seen_ids.add(item.id)
        handle = self._handle or self._open_batch()
        handle.write(json.dumps(item.model_dump(mode="json"), ensure_ascii=False) + "\n")
        self._batch_items += 1
        if self._batch_items >= self.max_items:
            self._close_batch()
        return item

    def _open_batch(self) -> IO[str]:
        self._seq += 1
        self._tmp_path = self.landing_dir / f"{self.pass_id}-{self._seq:04d}.jsonl.tmp"
        self._handle = self._tmp_path.open("w", encoding="utf-8")
        self._batch_items = 0
        return self._handle

    def _close_batch(self) -> None:
        if self._handle is None or self._tmp_path is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        final = self._tmp_path.with_suffix("")  # drop ".tmp"
        os.replace(self._tmp_path, final)
        self._handle, self._tmp_path = None, None
        self.landed.append(final)
        logger.info(
            "event=batch_landed source_id=%s pass_id=%s path=%s items=%d",
            self.source_id,
            self.pass_id,
            final,
            self._batch_items,
        )
        self.crawler.signals.send_catch_log(batch_landed, path=final)
        self._commit_state()

    def _commit_state(self) -> None:
        if not self._pending:
            return
        for update in self._pending:
            update.apply_to(self.state)
        self._pending.clear()
        save_state(self.data_dir, self.state)

    def close_spider(self) -> None:
        # Every line written is a complete post and every pending update follows its posts, so a
        # graceful close (finished, time limit, shutdown signal) lands what it has.
        self._close_batch()
        self._commit_state()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None
