"""Where the showcase posts go: every risk category, the near-misses and the reposts are placed in
the first `SHOWCASE_THREADS` threads and on the weibo timelines, so even the default demo (60
threads) shows them all.

The plan is small (a few dozen posts) and built once; everything else is generated per thread.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from demo.corpus.boards import BOARD_SPECS
from demo.corpus.near_miss import FORUM_NEAR_MISSES
from demo.corpus.risky import REPLY_SPAM_CATEGORIES, RISKY, risky_of
from demo.corpus.weibo import NEWS_NEAR_MISSES, POLICE_NEAR_MISSES
from demo.model import NO_RISK, PostTruth
from demo.places import PlaceBook
from demo.template import SlotFiller, TextTemplate, light_edit

#: Risky and near-miss posts are all placed within this many threads.
SHOWCASE_THREADS = 60

RISK_CATEGORIES: tuple[str, ...] = (
    "violence_threat",
    "weapons",
    "fraud",
    "drugs",
    "gambling",
    "public_hazard",
    "self_harm",
    "cyber_violence",
)
_NEAR_MISS_OPS = 8  # the rest of the forum near-misses are placed as replies
_BOARD_DISTRICT = {spec.key: spec.district for spec in BOARD_SPECS}


@dataclass(frozen=True, slots=True)
class SpecialPost:
    """A planned forum post; `spam` ones come from throwaway accounts."""

    text: str
    title: str
    truth: PostTruth
    spam: bool = False


@dataclass(frozen=True, slots=True)
class PlannedWeibo:
    key: str
    account: str  # AccountSpec.key
    created_at: datetime
    text: str
    truth: PostTruth
    retweet_of: str | None = None  # key of the planned weibo it retweets
    replies_mood: str = ""  # "support" (under a cry for help) or "pile_on" (under abuse)


@dataclass
class ShowcasePlan:
    ops: dict[int, SpecialPost] = field(default_factory=dict)
    boards: dict[int, str] = field(default_factory=dict)
    replies: dict[int, list[SpecialPost]] = field(default_factory=dict)
    weibos: list[PlannedWeibo] = field(default_factory=list)


def is_spam(category: str) -> bool:
    return category in REPLY_SPAM_CATEGORIES


class _Picker:
    """Chooses templates, avoiding reuse so that unrelated posts are not accidental near-duplicates."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.used: set[str] = set()

    def pick(self, templates: Sequence[TextTemplate]) -> TextTemplate:
        fresh = [t for t in templates if t.key not in self.used]
        chosen = self._rng.choice(fresh or list(templates))
        self.used.add(chosen.key)
        return chosen


def fill_template(template: TextTemplate, places: PlaceBook, rng: random.Random, board: str | None) -> tuple[str, str]:
    district = _BOARD_DISTRICT.get(board) if board else None
    text, title = SlotFiller(places, rng, district).fill_all([template.text, template.title or ""])
    return text, title


def build_plan(
    *,
    seed: int,
    threads: int,
    sticky: int,
    now: datetime,
    created_of: Callable[[int], datetime],
    pid_of: Callable[[int, int], int],
    weibo_mid: Callable[[str, datetime], int],
    places: PlaceBook,
) -> ShowcasePlan:
    rng = random.Random(f"demo:{seed}:plan")
    picker = _Picker(rng)
    plan = ShowcasePlan()
    window = list(range(sticky + 1, min(threads, SHOWCASE_THREADS) + 1))

    def special(template: TextTemplate, board: str | None) -> SpecialPost:
        text, title = fill_template(template, places, rng, board)
        truth = PostTruth(template.label, template.near_miss)
        return SpecialPost(text, title, truth, spam=is_spam(template.label))

    # Opening posts, most important first: a window too small for all keeps the risky ones.
    op_queue: list[tuple[str, str]] = []  # (key, board)
    posts: dict[str, SpecialPost] = {}
    originals: dict[str, str] = {}  # category -> key of its risky opening post
    for category in RISK_CATEGORIES:
        template = picker.pick([t for t in risky_of(category) if not t.key.endswith(".obf")])
        key, board = f"risk:{category}", rng.choice(template.boards)
        posts[key] = special(template, board)
        op_queue.append((key, board))
        originals[category] = key
    near_misses = list(FORUM_NEAR_MISSES)
    rng.shuffle(near_misses)
    for template in near_misses[:_NEAR_MISS_OPS]:
        key, board = f"nm:{template.key}", rng.choice(template.boards)
        posts[key] = special(template, board)
        op_queue.append((key, board))
    obfuscated_gun = picker.pick([t for t in RISKY if t.key == "weapons.gun.obf"])
    posts["obf:weapons"] = special(obfuscated_gun, "market")
    op_queue.append(("obf:weapons", "market"))
    # Reposts: one risky post copied to another board, one resident's weibo copied to the forum.
    forum_copy_of = rng.choice(["fraud", "public_hazard", "weapons"])
    original_key = originals[forum_copy_of]
    original_board = dict(op_queue)[original_key]
    op_queue.append(("dup:forum", rng.choice([b.key for b in BOARD_SPECS if b.key != original_board])))
    op_queue.append(("dup:weibo", "xiangfang"))

    shuffled = window[:]
    rng.shuffle(shuffled)
    tid_of = {key: tid for (key, _), tid in zip(op_queue, shuffled, strict=False)}
    # A copy is always newer than its original: thread creation times grow with the tid.
    if "dup:forum" in tid_of and original_key in tid_of and tid_of[original_key] > tid_of["dup:forum"]:
        tid_of[original_key], tid_of["dup:forum"] = tid_of["dup:forum"], tid_of[original_key]
    for key, board in op_queue:
        if key not in tid_of:
            continue
        tid = tid_of[key]
        plan.boards[tid] = board
        if key == "dup:forum" and original_key in tid_of:
            source = posts[original_key]
            text = light_edit(source.text, rng, prefix=rng.random() < 0.5)
            truth = PostTruth(source.truth.label, source.truth.near_miss, str(pid_of(tid_of[original_key], 1)))
            plan.ops[tid] = SpecialPost(text, "转：" + source.title, truth, spam=source.spam)
        elif key in posts:
            plan.ops[tid] = posts[key]
        # "dup:weibo" gets its text from the weibo it copies, in _plan_weibos.

    _fill_board_quotas(plan, window, rng)
    _plan_replies(plan, window, picker, rng, special, near_misses[_NEAR_MISS_OPS:])
    _plan_weibos(plan, rng, picker, places, now, created_of, pid_of, weibo_mid, tid_of, posts, originals, forum_copy_of)
    return plan


def _fill_board_quotas(plan: ShowcasePlan, window: list[int], rng: random.Random) -> None:
    """Give the ordinary threads boards so that each board holds about its share of the window."""
    counts = {spec.key: 0 for spec in BOARD_SPECS}
    for tid in window:
        if tid in plan.boards:
            counts[plan.boards[tid]] += 1
    pool: list[str] = []
    for spec in BOARD_SPECS:
        pool += [spec.key] * max(0, round(spec.weight * len(window)) - counts[spec.key])
    rng.shuffle(pool)
    keys = [spec.key for spec in BOARD_SPECS]
    weights = [spec.weight for spec in BOARD_SPECS]
    for tid in window:
        if tid not in plan.boards:
            plan.boards[tid] = pool.pop() if pool else rng.choices(keys, weights)[0]


def _plan_replies(
    plan: ShowcasePlan,
    window: list[int],
    picker: _Picker,
    rng: random.Random,
    special: Callable[[TextTemplate, str | None], SpecialPost],
    near_miss_replies: list[TextTemplate],
) -> None:
    if not window:
        return
    templates: list[TextTemplate] = []
    for category in RISK_CATEGORIES:
        templates.append(picker.pick([t for t in risky_of(category) if not t.key.endswith(".obf")]))
    templates += [t for t in RISKY if t.key.endswith(".obf") and t.key not in picker.used]
    templates += near_miss_replies
    for template in templates:
        picker.used.add(template.key)
        # Near-misses belong on their own boards (game talk on the game board); spam lands anywhere.
        fitting = [tid for tid in window if plan.boards.get(tid) in template.boards]
        wants_fit = template.near_miss or rng.random() < 0.6
        tid = rng.choice(fitting if fitting and wants_fit else window)
        plan.replies.setdefault(tid, []).append(special(template, plan.boards.get(tid)))


def _plan_weibos(
    plan: ShowcasePlan,
    rng: random.Random,
    picker: _Picker,
    places: PlaceBook,
    now: datetime,
    created_of: Callable[[int], datetime],
    pid_of: Callable[[int, int], int],
    weibo_mid: Callable[[str, datetime], int],
    tid_of: dict[str, int],
    posts: dict[str, SpecialPost],
    originals: dict[str, str],
    forum_copy_of: str,
) -> None:
    latest = now - timedelta(minutes=2)

    def at(value: datetime) -> datetime:
        return min(value, latest).replace(microsecond=0)

    def hours_ago(low: float, high: float) -> datetime:
        return at(now - timedelta(hours=rng.uniform(low, high)))

    def add(key: str, account: str, created: datetime, template: TextTemplate, **extra: str) -> PlannedWeibo:
        text, _ = fill_template(template, places, rng, None)
        planned = PlannedWeibo(key, account, created, text, PostTruth(template.label, template.near_miss), **extra)
        plan.weibos.append(planned)
        return planned

    # The weibo a resident posted first, copied to the forum later as "转：...".
    hazard = picker.pick(risky_of("public_hazard"))
    if "dup:weibo" in tid_of:
        tid = tid_of["dup:weibo"]
        posted = at(created_of(tid) - timedelta(minutes=rng.uniform(20, 300)))
        original = add("citizen.hazard", "oldli", posted, hazard)
        copy = PostTruth(hazard.label, False, str(weibo_mid("oldli", posted)))
        plan.ops[tid] = SpecialPost(light_edit(original.text, rng), "转：" + original.text[:18], copy)
    else:
        add("citizen.hazard", "oldli", hours_ago(3, 30), hazard)

    # Residents reposting risky forum posts to weibo.
    candidates = [
        c
        for c in ("weapons", "fraud", "public_hazard", "cyber_violence", "violence_threat")
        if c != forum_copy_of and f"risk:{c}" in tid_of
    ]
    for category in rng.sample(candidates, k=min(2, len(candidates))):
        key = originals[category]
        source, tid = posts[key], tid_of[key]
        posted = at(created_of(tid) + timedelta(minutes=rng.uniform(30, 600)))
        truth = PostTruth(source.truth.label, source.truth.near_miss, str(pid_of(tid, 1)))
        account = rng.choice(["worker", "xiaoyu", "eater", "runner"])
        plan.weibos.append(PlannedWeibo(f"copy.{category}", account, posted, light_edit(source.text, rng), truth))

    add(
        "citizen.self_harm",
        "worker",
        hours_ago(1, 20),
        picker.pick(risky_of("self_harm")),
        replies_mood="support",
    )
    abuse = add(
        "citizen.cyber",
        "xiaoyu",
        hours_ago(8, 40),
        picker.pick(risky_of("cyber_violence")),
        replies_mood="pile_on",
    )
    spread = TextTemplate("wb.spread", "扩散！让她社死，谁认识她的把单位也发出来", label="cyber_violence")
    add(
        "citizen.cyber_spread",
        "runner",
        at(abuse.created_at + timedelta(minutes=rng.uniform(10, 120))),
        spread,
        retweet_of=abuse.key,
    )
    add("spam.fraud", "parttime", hours_ago(2, 50), picker.pick(risky_of("fraud")))
    add("spam.gambling", "parttime", hours_ago(30, 90), picker.pick(risky_of("gambling")))

    # Publicity and news that quote the very words a filter looks for, and residents retweeting them.
    for template in POLICE_NEAR_MISSES:
        add(f"police.{template.key}", "police", hours_ago(10, 24 * 25), template)
    for template in NEWS_NEAR_MISSES:
        add(f"news.{template.key}", "news", hours_ago(5, 24 * 12), template)
    warn = next(w for w in plan.weibos if w.key == "police.wb.police.safe_account")
    fire = next(w for w in plan.weibos if w.key == "news.wb.news.fire_out")
    for key, account, retweeted, comment in (
        ("citizen.rt_police", "oldli", warn, "大家都看看，千万别上当！[怒]"),
        ("citizen.rt_news", "eater", fire, "还好没人受伤[心]"),
    ):
        posted = at(retweeted.created_at + timedelta(minutes=rng.uniform(15, 600)))
        plan.weibos.append(PlannedWeibo(key, account, posted, comment, PostTruth(NO_RISK), retweet_of=retweeted.key))
