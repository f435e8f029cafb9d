"""Deterministic content for the demo site, generated lazily from a seed.

Every thread comes from its own derived seed (`demo:<seed>:thread:<tid>`), so any page can be
served without generating the others and `threads=10000` never holds all floors in memory. List
pages need each thread's summary (board, reply count, last post); those are cheap and built once.

Ground truth (`PostTruth`) travels with every post and is only exposed through `truth()`.
"""

from __future__ import annotations

import random
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property

from demo.clock import DEFAULT_NOW, SITE_TZ, require_aware
from demo.corpus.boards import BOARD_SPECS, GENERIC_REPLIES, STICKY_RULES, TOPICS, BoardSpec, Topic
from demo.corpus.names import forum_member_names, spam_names, weibo_commenter_names
from demo.corpus.near_miss import FORUM_NEAR_MISSES, REACTIONS, STICKY_POLICE
from demo.corpus.risky import REPLY_SPAM_CATEGORIES, RISKY
from demo.corpus.weibo import (
    ACCOUNT_SPECS,
    CITIZEN_POSTS,
    COMMENTS,
    NEWS_POSTS,
    POLICE_PINNED,
    POLICE_POSTS,
    RETWEET_COMMENTS,
    AccountSpec,
)
from demo.model import (
    NO_RISK,
    Board,
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
from demo.places import PlaceBook, load_places
from demo.plan import (
    SHOWCASE_THREADS,
    ShowcasePlan,
    SpecialPost,
    build_plan,
    fill_template,
    is_spam,
)
from demo.template import SlotFiller, TextTemplate

FIRST_PID = 100_000
MAX_FLOORS = 90  # generated floors per thread; pids leave room for 99
MID_BASE = 4_000_000_000_000_000
COMMENT_ID_BASE = 5_000_000_000_000_000
ADMIN = User(1, "冰城论坛管理员")
POLICE_MEMBER = User(2, "平安香坊")
_QUOTE_CHARS = 40
_THREAD_CACHE = 512
_BOARD_BY_KEY = {spec.key: spec for spec in BOARD_SPECS}
_TOPICS_BY_BOARD = {spec.key: tuple(t for t in TOPICS if t.board == spec.key) for spec in BOARD_SPECS}


def pid_of(tid: int, number: int) -> int:
    """The Discuz pid of a generated floor; added posts take pids above `first_free_pid`."""
    return FIRST_PID + (tid - 1) * 100 + number


def mid_of(created_at: datetime, account_index: int) -> int:
    """Weibo mids grow with time (as real ones do), so a crawler's high-water mark works."""
    return MID_BASE + int(created_at.timestamp()) * 1000 + account_index


def comment_id_of(mid: int, index: int) -> int:
    return COMMENT_ID_BASE + (mid - MID_BASE) * 100 + index


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """A thread without its reply texts, middle authors or middle times: enough for the list page."""

    summary: ThreadSummary
    board: BoardSpec
    topic: Topic
    op_text: str
    op_truth: PostTruth
    specials: dict[int, SpecialPost]  # floor number -> planned reply


class DemoContent:
    """The demo site's boards, threads and weibo timelines for one seed.

    `threads` is the forum's size; `now` is the site clock (default a fixed time, so the same seed
    gives the same bytes). Risky and near-miss posts are all present within the first 60 threads.
    """

    def __init__(
        self,
        seed: int = 7,
        threads: int = 60,
        now: datetime | None = None,
        *,
        places: PlaceBook | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads={threads}: the demo forum needs at least 1 thread (default 60)")
        self.seed = seed
        self.threads = threads
        self.now = require_aware(now, "now").astimezone(SITE_TZ) if now is not None else DEFAULT_NOW
        self.places = places or load_places()
        self.sticky_threads = min(len(BOARD_SPECS), threads)
        normal = max(1, threads - self.sticky_threads)
        self._span = timedelta(days=max(30.0, normal / 60))
        self._step = (self._span - timedelta(minutes=20)) / normal
        self._lock = threading.RLock()
        self._thread_cache: OrderedDict[int, Thread] = OrderedDict()
        self._summaries: dict[int, ThreadSummary] | None = None
        self._board_order: dict[int, list[ThreadSummary]] | None = None
        self._timelines: dict[int, tuple[Weibo, ...]] = {}
        self.threads_generated = 0  # full threads built, so tests can prove list pages stay lazy

    # ---- identity and people ------------------------------------------------------------------

    @property
    def first_free_pid(self) -> int:
        return pid_of(self.threads + 1, 1)

    @cached_property
    def boards(self) -> tuple[Board, ...]:
        return tuple(Board(spec.fid, spec.key, spec.name, spec.description) for spec in BOARD_SPECS)

    def board(self, fid: int) -> Board:
        for board in self.boards:
            if board.fid == fid:
                return board
        raise KeyError(f"no board fid={fid}; boards are {[b.fid for b in self.boards]}")

    @cached_property
    def members(self) -> tuple[User, ...]:
        rng = random.Random(f"demo:{self.seed}:members")
        count = max(200, min(3000, self.threads * 4))
        return tuple(
            User(10_000 + i * 7 + rng.randint(0, 6), name) for i, name in enumerate(forum_member_names(rng, count))
        )

    @cached_property
    def spammers(self) -> tuple[User, ...]:
        rng = random.Random(f"demo:{self.seed}:spammers")
        return tuple(User(900_000 + i * 13 + rng.randint(0, 12), name) for i, name in enumerate(spam_names(rng, 24)))

    @cached_property
    def weibo_commenters(self) -> tuple[User, ...]:
        rng = random.Random(f"demo:{self.seed}:weibo-users")
        return tuple(
            User(5_600_000_000 + i * 7919 + rng.randint(0, 7000), name)
            for i, name in enumerate(weibo_commenter_names(rng, 150))
        )

    # ---- showcase plan and thread times -------------------------------------------------------

    @cached_property
    def plan(self) -> ShowcasePlan:
        return build_plan(
            seed=self.seed,
            threads=self.threads,
            sticky=self.sticky_threads,
            now=self.now,
            created_of=self.thread_created_at,
            pid_of=pid_of,
            weibo_mid=lambda key, when: mid_of(when, self._account_index(key)),
            places=self.places,
        )

    def thread_created_at(self, tid: int) -> datetime:
        """Creation grows with the tid, as on a real forum; sticky threads (tids 1..6) are old."""
        # A hash, not a seeded generator: this runs for every thread when a list page is first built.
        jitter = zlib.crc32(f"demo:{self.seed}:created:{tid}".encode()) / 2**32
        if tid <= self.sticky_threads:
            return (self.now - timedelta(days=60 + 340 * jitter)).replace(microsecond=0)
        index = tid - self.sticky_threads - 1
        offset = self._step * (index + jitter * 0.8)
        return (self.now - self._span + offset).replace(microsecond=0)

    # ---- forum ----------------------------------------------------------------------------------

    def _board_spec(self, tid: int, rng: random.Random) -> BoardSpec:
        if tid <= self.sticky_threads:
            return BOARD_SPECS[tid - 1]
        if tid in self.plan.boards:
            return _BOARD_BY_KEY[self.plan.boards[tid]]
        return rng.choices(BOARD_SPECS, [b.weight for b in BOARD_SPECS])[0]

    def _tail_specials(
        self, tid: int, board: BoardSpec, rng: random.Random
    ) -> tuple[SpecialPost | None, list[SpecialPost]]:
        """Beyond the showcase window, risky and near-miss posts turn up now and then."""
        op: SpecialPost | None = None
        replies: list[SpecialPost] = []
        roll = rng.random()
        if roll < 0.04:
            op = self._special(rng.choice(RISKY), board, rng)
        elif roll < 0.07:
            op = self._special(
                rng.choice([t for t in FORUM_NEAR_MISSES if board.key in t.boards] or FORUM_NEAR_MISSES),
                board,
                rng,
            )
        if rng.random() < 0.08:
            replies.append(
                self._special(rng.choice([t for t in RISKY if t.label in REPLY_SPAM_CATEGORIES]), board, rng)
            )
        if rng.random() < 0.03:
            replies.append(self._special(rng.choice(FORUM_NEAR_MISSES), board, rng))
        return op, replies

    def _special(self, template: TextTemplate, board: BoardSpec, rng: random.Random) -> SpecialPost:
        text, title = fill_template(template, self.places, rng, board.key)
        return SpecialPost(text, title, PostTruth(template.label, template.near_miss), spam=is_spam(template.label))

    def _skeleton(self, tid: int) -> _Skeleton:
        if not 1 <= tid <= self.threads:
            raise KeyError(f"no thread tid={tid}; generated threads are 1..{self.threads}")
        rng = random.Random(f"demo:{self.seed}:thread:{tid}")
        board = self._board_spec(tid, rng)
        sticky = tid <= self.sticky_threads
        topic = rng.choice(_TOPICS_BY_BOARD[board.key])
        op: SpecialPost | None
        if sticky:
            op = self._sticky_op(board, rng)
            topic = STICKY_RULES
            reply_specials: list[SpecialPost] = []
        elif tid <= SHOWCASE_THREADS:
            op, reply_specials = self.plan.ops.get(tid), list(self.plan.replies.get(tid, ()))
        else:
            op, reply_specials = self._tail_specials(tid, board, rng)
        if op is None:
            filler = SlotFiller(self.places, rng, board.district)
            op_text, title = filler.fill_all([rng.choice(topic.bodies), rng.choice(topic.titles)])
            op_truth = PostTruth(NO_RISK)
        else:
            op_text, title, op_truth = op.text, op.title, op.truth

        if sticky:
            replies = rng.randint(1, 6)
        else:
            replies = min(MAX_FLOORS - 1, int(rng.expovariate(1 / 5.0)))
            if op is not None and op.truth.label != NO_RISK:
                replies += rng.randint(1, 4)  # risky posts draw reactions
        replies = min(MAX_FLOORS - 1, max(replies, len(reply_specials)))
        positions = sorted(rng.sample(range(2, replies + 2), k=len(reply_specials)))
        specials = dict(zip(positions, reply_specials, strict=True))

        staff = POLICE_MEMBER if board.key == "notices" else ADMIN
        op_author = staff if sticky else self._author(op, rng)
        last_poster = self._author(specials.get(replies + 1), rng) if replies else op_author
        created = self.thread_created_at(tid)
        summary = ThreadSummary(
            tid=tid,
            fid=board.fid,
            title=title,
            author=op_author,
            created_at=created,
            last_post_at=self._last_post_at(created, replies, rng),
            last_poster=last_poster,
            replies=replies,
            views=replies * rng.randint(8, 30) + rng.randint(20, 300),
            sticky=sticky,
        )
        return _Skeleton(summary, board, topic, op_text, op_truth, specials)

    def _author(self, post: SpecialPost | None, rng: random.Random) -> User:
        return rng.choice(self.spammers) if post is not None and post.spam else rng.choice(self.members)

    def _sticky_op(self, board: BoardSpec, rng: random.Random) -> SpecialPost:
        if board.key == "notices":
            return SpecialPost(STICKY_POLICE.text, STICKY_POLICE.title, PostTruth(NO_RISK, near_miss=True))
        text, title = (part.replace("{board}", board.name) for part in (STICKY_RULES.bodies[0], STICKY_RULES.titles[0]))
        return SpecialPost(text, title, PostTruth(NO_RISK))

    def _last_post_at(self, created: datetime, replies: int, rng: random.Random) -> datetime:
        if replies == 0:
            return created
        horizon = max(0.0, (self.now - timedelta(minutes=1) - created).total_seconds())
        life = rng.expovariate(1 / (6 * 3600)) * (1 + replies / 8)
        if rng.random() < 0.12:
            life = horizon * rng.uniform(0.9, 1.0)  # an old thread bumped by a recent reply
        return created + timedelta(seconds=int(min(life, horizon)))

    def thread_summary(self, tid: int) -> ThreadSummary:
        if self._summaries is not None and tid in self._summaries:
            return self._summaries[tid]
        return self._skeleton(tid).summary

    def _all_summaries(self) -> dict[int, ThreadSummary]:
        with self._lock:
            if self._summaries is None:
                self._summaries = {tid: self._skeleton(tid).summary for tid in range(1, self.threads + 1)}
            return self._summaries

    def threads_in_board(self, fid: int) -> list[ThreadSummary]:
        """A board's threads as its list pages show them: sticky first, then newest last post first."""
        self.board(fid)
        with self._lock:
            if self._board_order is None:
                grouped: dict[int, list[ThreadSummary]] = {board.fid: [] for board in self.boards}
                for summary in self._all_summaries().values():
                    grouped[summary.fid].append(summary)
                self._board_order = {f: sort_for_listing(items) for f, items in grouped.items()}
            return list(self._board_order[fid])

    def thread(self, tid: int) -> Thread:
        with self._lock:
            cached = self._thread_cache.get(tid)
            if cached is not None:
                self._thread_cache.move_to_end(tid)
                return cached
        thread = self._build_thread(self._skeleton(tid))
        with self._lock:
            self.threads_generated += 1
            self._thread_cache[tid] = thread
            while len(self._thread_cache) > _THREAD_CACHE:
                self._thread_cache.popitem(last=False)
        return thread

    def _build_thread(self, skeleton: _Skeleton) -> Thread:
        summary = skeleton.summary
        rng = random.Random(f"demo:{self.seed}:thread:{summary.tid}:text")
        filler = SlotFiller(self.places, rng, skeleton.board.district)
        span = (summary.last_post_at - summary.created_at).total_seconds()
        middle = sorted(int(rng.uniform(0, span)) for _ in range(max(0, summary.replies - 1)))
        times = [summary.created_at, *(summary.created_at + timedelta(seconds=s) for s in middle)]
        authors = [
            summary.author,
            *(self._author(skeleton.specials.get(n), rng) for n in range(2, summary.replies + 1)),
        ]
        if summary.replies:
            times.append(summary.last_post_at)
            authors.append(summary.last_poster)
        floors: list[Floor] = []
        risky_op = skeleton.op_truth.label != NO_RISK
        unanswered_risk: Floor | None = None
        for index, (author, posted_at) in enumerate(zip(authors, times, strict=True)):
            number = index + 1
            quote: Quote | None = None
            special = skeleton.specials.get(number)
            if number == 1:
                text, truth = skeleton.op_text, skeleton.op_truth
            elif special is not None:
                text, truth = special.text, special.truth
            elif unanswered_risk is not None and rng.random() < 0.6:
                text, truth = _reaction(unanswered_risk.truth.label, rng)
                quote = _quote_of(unanswered_risk)
                unanswered_risk = None
            elif risky_op:
                # A thread that opens with a risky post is about that post, not the board's usual topics.
                text, truth = _reaction(skeleton.op_truth.label, rng)
                if rng.random() < 0.25:
                    quote = _quote_of(floors[0])
            else:
                pool = skeleton.topic.replies if skeleton.topic.replies and rng.random() < 0.6 else GENERIC_REPLIES
                text, truth = filler.fill(rng.choice(pool)), PostTruth(NO_RISK)
                if number > 2 and rng.random() < 0.12:
                    quote = _quote_of(floors[rng.randrange(len(floors))])
            floor = Floor(pid_of(summary.tid, number), summary.tid, number, author, posted_at, text, truth, quote)
            if truth.label != NO_RISK and number > 1:
                unanswered_risk = floor
            floors.append(floor)
        return Thread(summary, tuple(floors))

    # ---- weibo ----------------------------------------------------------------------------------

    @cached_property
    def weibo_accounts(self) -> tuple[WeiboAccount, ...]:
        return tuple(
            WeiboAccount(s.uid, s.screen_name, s.kind, s.description, s.followers, s.verified) for s in ACCOUNT_SPECS
        )

    def weibo_account(self, uid: int) -> WeiboAccount:
        for account in self.weibo_accounts:
            if account.uid == uid:
                return account
        raise KeyError(f"no weibo account uid={uid}; accounts are {[a.uid for a in self.weibo_accounts]}")

    @staticmethod
    def _account_index(key: str) -> int:
        return next(i for i, spec in enumerate(ACCOUNT_SPECS) if spec.key == key)

    def timeline(self, uid: int) -> tuple[Weibo, ...]:
        """An account's weibos as its profile shows them: the pinned one first, then newest first."""
        self.weibo_account(uid)
        with self._lock:
            if uid not in self._timelines:
                index = next(i for i, spec in enumerate(ACCOUNT_SPECS) if spec.uid == uid)
                self._timelines[uid] = self._build_timeline(ACCOUNT_SPECS[index], index)
            return self._timelines[uid]

    def _build_timeline(self, spec: AccountSpec, index: int) -> tuple[Weibo, ...]:
        rng = random.Random(f"demo:{self.seed}:weibo:{spec.uid}")
        filler = SlotFiller(self.places, rng)
        planned = [p for p in self.plan.weibos if p.account == spec.key]
        taken = {int(p.created_at.timestamp()) for p in planned}
        pool = {"news": NEWS_POSTS, "police": POLICE_POSTS}.get(spec.kind, CITIZEN_POSTS)
        if spec.key == "parttime":
            pool = ("今天又有{n}个宝妈在家赚到钱了，想了解的私信[赞]", "日结日结，手机就能做，私信我[心]")
        # The newest post of each account is a different age, so every created_at wording shows up.
        first_gap = {"news": (0.3, 0.9), "police": (5, 50), "worker": (60, 300)}.get(spec.key, (120, 1800))
        when = self.now - timedelta(minutes=rng.uniform(*first_gap))
        items: list[tuple[datetime, str, PostTruth, int | None]] = []
        for _ in range(rng.randint(*spec.posts)):
            stamp = _unique_second(when, taken)
            retweet = self._maybe_retweet(spec, stamp, rng)
            if retweet is not None:
                items.append((stamp, rng.choice(RETWEET_COMMENTS), PostTruth(NO_RISK), retweet))
            else:
                items.append((stamp, filler.fill(rng.choice(pool)), PostTruth(NO_RISK), None))
            when -= timedelta(hours=rng.expovariate(1 / spec.mean_gap_hours) + 0.2)
        for planned_weibo in planned:
            items.append(
                (
                    planned_weibo.created_at,
                    planned_weibo.text,
                    planned_weibo.truth,
                    self._planned_mid(planned_weibo.retweet_of),
                )
            )
        weibos = [
            self._weibo(spec, index, created, text, truth, retweet, rng) for created, text, truth, retweet in items
        ]
        weibos.sort(key=lambda w: w.mid, reverse=True)
        if spec.kind == "police":
            pinned_at = _unique_second(self.now - timedelta(days=rng.uniform(380, 420)), taken)
            pinned = self._weibo(
                spec, index, pinned_at, POLICE_PINNED.text, PostTruth(NO_RISK, near_miss=True), None, rng
            )
            weibos.insert(0, replace(pinned, pinned=True))
        return tuple(weibos)

    def _planned_mid(self, key: str | None) -> int | None:
        if key is None:
            return None
        source = next(p for p in self.plan.weibos if p.key == key)
        return mid_of(source.created_at, self._account_index(source.account))

    def _maybe_retweet(self, spec: AccountSpec, when: datetime, rng: random.Random) -> int | None:
        if spec.kind != "citizen" or spec.key == "parttime" or rng.random() >= 0.15:
            return None
        sources = [
            w
            for uid in (ACCOUNT_SPECS[0].uid, ACCOUNT_SPECS[1].uid)
            for w in self.timeline(uid)
            if not w.pinned and w.created_at < when and w.retweet_of is None
        ]
        return rng.choice(sources).mid if sources else None

    def _weibo(
        self,
        spec: AccountSpec,
        index: int,
        created: datetime,
        text: str,
        truth: PostTruth,
        retweet_of: int | None,
        rng: random.Random,
    ) -> Weibo:
        popular = spec.kind in ("news", "police")
        comments = rng.randint(0, 6) if popular else rng.choice((0, 0, 0, 1, 2, 3))
        if truth.label in ("self_harm", "cyber_violence"):
            comments = rng.randint(11, 15)  # enough for a second page of comments
        return Weibo(
            mid=mid_of(created, index),
            uid=spec.uid,
            created_at=created.astimezone(SITE_TZ),
            text=text,
            truth=PostTruth(truth.label, truth.near_miss, truth.dup_of, kind="weibo"),
            comments_count=comments,
            reposts_count=rng.randint(5, 400) if popular else rng.randint(0, 12),
            attitudes_count=rng.randint(20, 3000) if popular else rng.randint(0, 60),
            retweet_of=retweet_of,
        )

    def weibo(self, mid: int) -> Weibo | None:
        for account in self.weibo_accounts:
            for weibo in self.timeline(account.uid):
                if weibo.mid == mid:
                    return weibo
        return None

    def comments(self, mid: int) -> tuple[Comment, ...]:
        """A weibo's comments, newest first (as the comments API lists them)."""
        weibo = self.weibo(mid)
        if weibo is None:
            raise KeyError(f"no weibo mid={mid}")
        return generate_comments(weibo, self.now, self.seed, self.weibo_commenters)

    # ---- ground truth ---------------------------------------------------------------------------

    def iter_truth(self) -> Iterator[tuple[str, PostTruth]]:
        for tid in range(1, self.threads + 1):
            for floor in self.thread(tid).floors:
                yield str(floor.pid), floor.truth
        for account in self.weibo_accounts:
            for weibo in self.timeline(account.uid):
                yield str(weibo.mid), weibo.truth
                for comment in self.comments(weibo.mid):
                    yield str(comment.cid), comment.truth

    def truth(self) -> dict[str, PostTruth]:
        """Ground truth of every generated post, keyed by the site's native id (pid, mid, comment id)."""
        return dict(self.iter_truth())


def sort_for_listing(summaries: list[ThreadSummary]) -> list[ThreadSummary]:
    return sorted(summaries, key=lambda s: (not s.sticky, -s.last_post_at.timestamp(), -s.tid))


def _reaction(label: str, rng: random.Random) -> tuple[str, PostTruth]:
    text, near_miss = rng.choice(REACTIONS[label])
    return text, PostTruth(NO_RISK, near_miss=near_miss)


def _quote_of(floor: Floor) -> Quote:
    text = floor.text if len(floor.text) <= _QUOTE_CHARS else floor.text[:_QUOTE_CHARS] + " ..."
    return Quote(floor.author.name, floor.posted_at, text)


def _unique_second(when: datetime, taken: set[int]) -> datetime:
    second = int(when.timestamp())
    while second in taken:
        second -= 1
    taken.add(second)
    return datetime.fromtimestamp(second, SITE_TZ)


_SUPPORT_COMMENTS = (
    "别想不开！有什么难处说出来，心理援助热线12356，二十四小时有人接[心]",
    "你在哪？大家帮忙找找，已经报警了",
    "抱抱你，熬过去就好了，别做傻事[心]",
)
_PILE_ON_COMMENTS = (
    ("支持人肉，地址发我，明天就去堵她", "cyber_violence"),
    ("别网暴了，有问题报警，走法律途径", "near_miss"),
)
_SPAM_COMMENT = "想翻身的看我主页，注册就送彩金，日入过万[赞]"


def generate_comments(weibo: Weibo, now: datetime, seed: int, users: tuple[User, ...]) -> tuple[Comment, ...]:
    rng = random.Random(f"demo:{seed}:comments:{weibo.mid}")
    span = max(0.0, (now - weibo.created_at).total_seconds() - 30)
    offsets = sorted(rng.uniform(30, 30 + span) for _ in range(weibo.comments_count))
    comments: list[Comment] = []
    for index, offset in enumerate(offsets):
        truth = PostTruth(NO_RISK, kind="comment")
        if weibo.truth.label == "self_harm" and index < len(_SUPPORT_COMMENTS):
            text, truth = _SUPPORT_COMMENTS[index], PostTruth(NO_RISK, near_miss=True, kind="comment")
        elif weibo.truth.label == "cyber_violence" and index < len(_PILE_ON_COMMENTS):
            text, mood = _PILE_ON_COMMENTS[index]
            near_miss = mood == "near_miss"
            truth = PostTruth(NO_RISK if near_miss else mood, near_miss=near_miss, kind="comment")
        elif weibo.truth.label == NO_RISK and rng.random() < 0.05:
            text, truth = _SPAM_COMMENT, PostTruth("gambling", kind="comment")
        else:
            text = rng.choice(COMMENTS)
        created = min(now, weibo.created_at + timedelta(seconds=int(offset)))
        comments.append(Comment(comment_id_of(weibo.mid, index), weibo.mid, rng.choice(users), created, text, truth))
    return tuple(reversed(comments))


__all__ = ["DemoContent", "comment_id_of", "generate_comments", "mid_of", "pid_of", "sort_for_listing"]
