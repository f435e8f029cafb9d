"""What the site serves: the generated content plus posts added while it runs.

Mutations (for incremental-crawl tests) are an overlay over the immutable `DemoContent`, guarded by
one lock, and each advances the site clock by a minute so that a new post is always the newest.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property

from demo.content import DemoContent, mid_of, sort_for_listing
from demo.forum_html import BoardStats
from demo.model import (
    NO_RISK,
    Comment,
    Floor,
    PostTruth,
    Quote,
    Thread,
    ThreadSummary,
    User,
    Weibo,
    WeiboAccount,
)

MUTATION_TICK = timedelta(minutes=1)


class SiteState:
    def __init__(self, content: DemoContent) -> None:
        self.content = content
        self._lock = threading.RLock()
        self._clock_offset = timedelta(0)
        self._summaries: dict[int, ThreadSummary] = {}  # threads changed or added
        self._extra_floors: dict[int, list[Floor]] = {}
        self._extra_weibos: dict[int, list[Weibo]] = {}
        self._truth: dict[str, PostTruth] = {}
        self._next_pid = content.first_free_pid
        self._next_tid = content.threads + 1

    # ---- clock ------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        with self._lock:
            return self.content.now + self._clock_offset

    def advance_clock(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError(f"the site clock only moves forward (got {delta})")
        with self._lock:
            self._clock_offset += delta
            return self.now

    def _tick(self) -> datetime:
        return self.advance_clock(MUTATION_TICK).replace(microsecond=0)

    # ---- forum ----------------------------------------------------------------------------------

    @cached_property
    def _members_by_name(self) -> dict[str, User]:
        return {user.name: user for user in self.content.members}

    def _member(self, name: str) -> User:
        if not name.strip():
            raise ValueError("author must be a non-empty screen name")
        known = self._members_by_name.get(name)
        return known or User(700_000 + zlib.crc32(name.encode("utf-8")) % 99_991, name)

    def thread(self, tid: int) -> Thread | None:
        with self._lock:
            summary = self._summaries.get(tid)
            extra = tuple(self._extra_floors.get(tid, ()))
        if tid > self.content.threads:
            return Thread(summary, extra) if summary is not None else None
        try:
            base = self.content.thread(tid)
        except KeyError:
            return None
        return Thread(summary, base.floors + extra) if summary is not None else base

    def board_threads(self, fid: int) -> list[ThreadSummary]:
        base = self.content.threads_in_board(fid)
        with self._lock:
            changed = {tid: s for tid, s in self._summaries.items() if s.fid == fid}
        if not changed:
            return base
        merged = [changed.pop(s.tid, s) for s in base]
        return sort_for_listing(merged + list(changed.values()))

    def board_stats(self) -> list[BoardStats]:
        stats = []
        for board in self.content.boards:
            rows = self.board_threads(board.fid)
            last = max((s.last_post_at for s in rows), default=None)
            stats.append(BoardStats(board, len(rows), sum(s.replies + 1 for s in rows), last))
        return stats

    def add_reply(
        self,
        tid: int,
        text: str,
        author: str = "热心网友",
        *,
        quote_pid: int | None = None,
        label: str = NO_RISK,
        near_miss: bool = False,
    ) -> str:
        """Append a floor to a thread; returns its pid. The list page then shows one more reply and
        this floor's time as the last post, and the thread moves to the top of its board."""
        with self._lock:
            thread = self.thread(tid)
            if thread is None:
                raise KeyError(f"no thread tid={tid}: add_reply needs an existing thread (1..{self._next_tid - 1})")
            quote = None
            if quote_pid is not None:
                quoted = next((f for f in thread.floors if f.pid == quote_pid), None)
                if quoted is None:
                    raise KeyError(f"no floor pid={quote_pid} in thread {tid} to quote")
                quote = Quote(quoted.author.name, quoted.posted_at, quoted.text[:40])
            posted_at, pid, user = self._tick(), self._take_pid(), self._member(author)
            floor = Floor(pid, tid, len(thread.floors) + 1, user, posted_at, text, PostTruth(label, near_miss), quote)
            self._extra_floors.setdefault(tid, []).append(floor)
            self._summaries[tid] = replace(
                thread.summary,
                replies=thread.summary.replies + 1,
                views=thread.summary.views + 3,
                last_post_at=posted_at,
                last_poster=user,
            )
            self._truth[str(pid)] = floor.truth
            return str(pid)

    def add_thread(
        self,
        fid: int,
        title: str,
        text: str,
        author: str = "新来的邻居",
        *,
        label: str = NO_RISK,
        near_miss: bool = False,
    ) -> int:
        """Open a new thread on a board; returns its tid."""
        self.content.board(fid)
        with self._lock:
            tid, posted_at, pid, user = self._next_tid, self._tick(), self._take_pid(), self._member(author)
            self._next_tid += 1
            floor = Floor(pid, tid, 1, user, posted_at, text, PostTruth(label, near_miss))
            self._extra_floors[tid] = [floor]
            self._summaries[tid] = ThreadSummary(tid, fid, title, user, posted_at, posted_at, user, 0, 1)
            self._truth[str(pid)] = floor.truth
            return tid

    def _take_pid(self) -> int:
        pid = self._next_pid
        self._next_pid += 1
        return pid

    # ---- weibo ----------------------------------------------------------------------------------

    def timeline(self, uid: int) -> list[Weibo]:
        base = self.content.timeline(uid)
        with self._lock:
            extra = list(self._extra_weibos.get(uid, ()))
        if not extra:
            return list(base)
        pinned = [w for w in base if w.pinned]
        regular = sorted([w for w in base if not w.pinned] + extra, key=lambda w: w.mid, reverse=True)
        return pinned + regular

    def weibo(self, mid: int) -> tuple[Weibo, WeiboAccount] | None:
        for account in self.content.weibo_accounts:
            for weibo in self.timeline(account.uid):
                if weibo.mid == mid:
                    return weibo, account
        return None

    def comments(self, mid: int) -> tuple[Comment, ...]:
        found = self.weibo(mid)
        if found is None or found[0].comments_count == 0:
            return ()
        return self.content.comments(mid)

    def add_weibo(
        self,
        uid: int,
        text: str,
        *,
        retweet_of: str | None = None,
        label: str = NO_RISK,
        near_miss: bool = False,
    ) -> str:
        """Post a weibo as `uid` at the site clock; returns its mid (larger than every earlier one)."""
        account = self.content.weibo_account(uid)
        index = self.content.weibo_accounts.index(account)
        original = int(retweet_of) if retweet_of is not None else None
        if original is not None and self.weibo(original) is None:
            raise KeyError(f"no weibo mid={retweet_of} to retweet")
        with self._lock:
            created = self._tick()
            weibo = Weibo(
                mid_of(created, index),
                uid,
                created,
                text,
                PostTruth(label, near_miss, kind="weibo"),
                retweet_of=original,
            )
            self._extra_weibos.setdefault(uid, []).append(weibo)
            self._truth[str(weibo.mid)] = weibo.truth
            return str(weibo.mid)

    # ---- ground truth ---------------------------------------------------------------------------

    def truth(self) -> dict[str, PostTruth]:
        merged = self.content.truth()
        with self._lock:
            merged.update(self._truth)
        return merged
