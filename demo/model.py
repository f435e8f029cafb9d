"""The demo site's data: boards, threads and floors, weibo accounts, weibos and comments.

Everything is immutable; the generator builds these on demand and the renderers turn them into
Discuz! pages and m.weibo.cn-style JSON. `PostTruth` is the ground truth that evaluation reads and
that is never served to a crawler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

NO_RISK = "none"


@dataclass(frozen=True, slots=True)
class PostTruth:
    """What a post really is: its risk category (or "none"), whether it is a benign text built to
    trip a naive keyword match, and the native id of the post it copies (near-duplicate)."""

    label: str
    near_miss: bool = False
    dup_of: str | None = None
    kind: str = "forum_post"


@dataclass(frozen=True, slots=True)
class User:
    uid: int
    name: str


@dataclass(frozen=True, slots=True)
class Board:
    fid: int
    key: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Quote:
    """The part of an earlier floor that a reply quotes (Discuz `div.quote`)."""

    author: str
    posted_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Floor:
    pid: int
    tid: int
    number: int
    author: User
    posted_at: datetime
    text: str
    truth: PostTruth
    quote: Quote | None = None


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """What a thread-list row shows; cheap to build without generating the floors."""

    tid: int
    fid: int
    title: str
    author: User
    created_at: datetime
    last_post_at: datetime
    last_poster: User
    replies: int
    views: int
    sticky: bool = False


@dataclass(frozen=True, slots=True)
class Thread:
    summary: ThreadSummary
    floors: tuple[Floor, ...]

    @property
    def tid(self) -> int:
        return self.summary.tid

    @property
    def title(self) -> str:
        return self.summary.title


@dataclass(frozen=True, slots=True)
class WeiboAccount:
    uid: int
    screen_name: str
    kind: str  # news | police | citizen
    description: str
    followers: int
    verified: bool = False

    @property
    def containerid(self) -> str:
        return f"107603{self.uid}"


@dataclass(frozen=True, slots=True)
class Weibo:
    mid: int
    uid: int
    created_at: datetime
    text: str  # plain text; "\n" for line breaks, "[偷笑]" for emoticons
    truth: PostTruth
    comments_count: int = 0
    reposts_count: int = 0
    attitudes_count: int = 0
    pinned: bool = False
    retweet_of: int | None = None  # mid of the original, shown as retweeted_status


@dataclass(frozen=True, slots=True)
class Comment:
    cid: int
    mid: int
    user: User
    created_at: datetime
    text: str
    truth: PostTruth
