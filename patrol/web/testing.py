"""Helpers for testing the console and measuring it: a console over a fresh data folder, and posts
(some of them hostile) analysed by the real NLP stage, stored and flagged as a pass would.

Each seeded post names the category it must be flagged in and the term that is the evidence; the
analysis is the NLP stage's own, with that category's score and evidence pinned, so tests do not
break when the lexicon is tuned, and the evidence offsets are real offsets into the original text.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from nlp.pipeline import NlpPipeline
from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE
from patrol.config import Settings, load_settings
from patrol.schema import AnalysedPost, Evidence, Post
from patrol.thresholds import load_thresholds
from patrol.web.build import build_console_context, close_console_context
from patrol.web.context import ConsoleContext
from patrol.web.text import shared_pipeline
from patrol.workflow.actors import SYSTEM
from patrol.workflow.auth import create_user
from patrol.workflow.clock import Clock, ManualClock
from patrol.workflow.flagging import FlagReport, open_review_items

#: Real argon2id with small costs, so tests log in quickly.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
TEST_PASSWORD = "a long enough password"

#: What hostile crawled content tries; none of it may ever run or render as markup.
XSS_SCRIPT = '<script>window.__patrol_xss = 1; alert("xss-script")</script>'
XSS_IMG = "<img src=x onerror=\"window.__patrol_xss = 2; alert('xss-img')\">"
XSS_SVG = "<svg/onload=alert('xss-svg')>"
XSS_LINK = "javascript:alert('xss-link')"
BIDI_TRICK = "\u202e" + "gnp.exe" + "\u202c"


@dataclass(frozen=True)
class SeedPost:
    key: str
    text: str
    category: str | None = None
    term: str | None = None
    score: float = 0.9
    source_id: str = "demo-forum"
    title: str | None = None
    url: str | None = None
    author: str | None = None
    thread: str | None = None
    floor: int | None = None
    minutes_ago: int = 30
    jurisdiction: str | None = None


@dataclass
class SeededData:
    analysed: list[AnalysedPost]
    flags: FlagReport
    item_of: dict[str, str] = field(default_factory=dict)


def shift_posts() -> list[SeedPost]:
    """A night's worth of posts: life-safety, hazards, spam waves, hostile markup, and ordinary talk."""
    return [
        SeedPost(
            "selfharm",
            "我真的撑不下去了，今晚就从阳台跳下去，大家再见",
            "self_harm",
            "跳下去",
            score=0.93,
            thread="t-100",
            floor=1,
            title="最后一次发帖",
            jurisdiction="xf-heping",
            minutes_ago=12,
        ),
        SeedPost(
            "selfharm-reply",
            "楼主别想不开，有什么事说出来，我们都在",
            thread="t-100",
            floor=2,
            minutes_ago=10,
        ),
        SeedPost(
            "threat",
            "老子明天就去砍死那个骗子，谁也拦不住",
            "violence_threat",
            "砍死",
            score=0.88,
            jurisdiction="ng-xuefu",
            minutes_ago=25,
        ),
        SeedPost(
            "gas",
            "香坊区和平路小区燃气泄漏，味道很大，赶紧报警",
            "public_hazard",
            "燃气泄漏",
            score=0.81,
            jurisdiction="xf-xiangfang",
            minutes_ago=40,
            title="燃气泄漏",
        ),
        SeedPost(
            "gas-copy",
            "香坊区和平路小区燃气泄漏，味道很大，赶紧报警！！",
            "public_hazard",
            "燃气泄漏",
            score=0.78,
            source_id="demo-weibo",
            jurisdiction="xf-xiangfang",
            minutes_ago=35,
        ),
        SeedPost(
            "xss-gun",
            f"{XSS_SCRIPT}出售枪支，联系微信 {XSS_SVG} {BIDI_TRICK}",
            "weapons",
            "出售枪支",
            score=0.86,
            title=XSS_IMG,
            url=XSS_LINK,
            author=XSS_SVG,
            thread="t-200",
            floor=1,
            jurisdiction="dl-qunli",
            minutes_ago=50,
        ),
        SeedPost("xss-reply", f"回复：{XSS_IMG} 这是骗人的吧", thread="t-200", floor=2, minutes_ago=48),
        SeedPost(
            "gamble-1",
            "澳门百家乐在线注册送彩金 www.example-bet.test",
            "gambling",
            "百家乐",
            score=0.7,
            source_id="demo-news",
            minutes_ago=90,
        ),
        SeedPost(
            "gamble-2",
            "线上百家乐，日赚千元，注册就送彩金 www.example-bet2.test",
            "gambling",
            "百家乐",
            score=0.68,
            source_id="demo-news",
            minutes_ago=85,
        ),
        SeedPost(
            "fraud",
            "冒充公安局的人打电话说我涉嫌洗钱，让我转账到安全账户",
            "fraud",
            "安全账户",
            score=0.75,
            jurisdiction="dw-jingyu",
            minutes_ago=70,
        ),
        SeedPost("chat-1", "今天道里区中央大街人很多，冰雪大世界也开了", minutes_ago=120),
        SeedPost("chat-2", "南岗区学府路新开了一家面馆，味道不错", minutes_ago=200),
        SeedPost("chat-3", "道外区老道外的锅包肉还是那个味道", minutes_ago=300),
    ]


def _pinned(item: AnalysedPost, spec: SeedPost) -> AnalysedPost:
    analysis = item.analysis.model_copy(deep=True)
    scores = dict.fromkeys(analysis.risk_scores, 0.0)
    evidence: list[Evidence] = []
    if spec.category and spec.term:
        start = item.post.text.index(spec.term)
        scores[spec.category] = spec.score
        evidence.append(
            Evidence(
                category=spec.category,
                signal="lexicon",
                rule=f"{spec.category}.seed",
                term=spec.term,
                start=start,
                end=start + len(spec.term),
                weight=0.85,
            )
        )
        evidence.append(
            Evidence(
                category=spec.category,
                signal="model",
                rule="risk-model:seed-1",
                term="",
                start=0,
                end=len(item.post.text),
                weight=round(spec.score - 0.05, 4),
            )
        )
    analysis.risk_scores, analysis.evidence = scores, evidence
    if spec.jurisdiction:
        analysis.jurisdiction = spec.jurisdiction
    return AnalysedPost(post=item.post, analysis=analysis)


def make_posts(specs: Sequence[SeedPost], *, now: datetime) -> list[Post]:
    return [
        Post(
            id=f"{s.source_id}:{s.key}",
            source_id=s.source_id,
            native_id=s.key,
            kind="forum_post",
            url=s.url or f"http://{s.source_id}.test/t/{s.thread or s.key}#{s.floor or 1}",
            thread_id=s.thread,
            thread_title=s.title if s.floor == 1 else None,
            floor=s.floor,
            author=s.author,
            title=s.title,
            text=s.text,
            published_at=now - timedelta(minutes=s.minutes_ago),
            fetched_at=now,
        )
        for s in specs
    ]


def seed(
    context: ConsoleContext, specs: Sequence[SeedPost], *, now: datetime, pipeline: NlpPipeline | None = None
) -> SeededData:
    """Analyse, store and flag `specs` as one pass would."""
    pipeline = pipeline or shared_pipeline(context.settings)
    posts = make_posts(specs, now=now)
    analyses = pipeline.analyse(posts)
    analysed = [
        _pinned(AnalysedPost(post=p, analysis=a), s) for p, a, s in zip(posts, analyses, specs, strict=True)
    ]
    context.posts.upsert(analysed)
    thresholds = load_thresholds(context.settings.thresholds_file)
    with context.api.db.session() as session:
        flags = open_review_items(
            session, analysed, thresholds, max_distance=NEAR_DUPLICATE_MAX_DISTANCE, now=now
        )
    data = SeededData(analysed=analysed, flags=flags)
    with context.api.db.read_session() as session:
        data.item_of = _items_by_post(session)
    return data


def _items_by_post(session: Session) -> dict[str, str]:
    from sqlalchemy import select

    from patrol.workflow.models import ReviewItemPost

    return {
        post_id.split(":", 1)[1]: item_id
        for post_id, item_id in session.execute(
            select(ReviewItemPost.post_id, ReviewItemPost.item_id)
        ).tuples()
    }


def settings_for_tests(data_dir: Path) -> Settings:
    return load_settings(data_dir=data_dir)


def console_for_tests(data_dir: Path, clock: Clock) -> ConsoleContext:
    """A console over a fresh data folder, plain-HTTP cookies, fast password hashing."""
    return build_console_context(
        settings_for_tests(data_dir), clock=clock, cookie_security="never", hasher=FAST_HASHER
    )


def add_users(context: ConsoleContext, accounts: dict[str, tuple[str, str | None]], *, now: datetime) -> None:
    """Accounts {username: (role, unit)} with TEST_PASSWORD."""
    with context.api.db.session() as session:
        for username, (role, unit) in accounts.items():
            create_user(
                session,
                SYSTEM,
                username=username,
                password=TEST_PASSWORD,
                role=role,
                units=context.api.policy.units,
                now=now,
                unit_id=unit,
                display_name=username,
                hasher=FAST_HASHER,
            )


def login(client: Any, username: str, password: str = TEST_PASSWORD) -> str:
    """Log a test client in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token is not None, "the login form has no login_csrf field"
    response = client.post(
        "/login",
        data={"username": username, "password": password, "login_csrf": token.group(1)},
        follow_redirects=False,
    )
    if response.status_code != 303:
        raise AssertionError(f"login of {username} failed: {response.status_code} {response.text[:300]}")
    csrf: str = client.cookies.get("patrol_csrf")
    return csrf


#: 21:05 in Asia/Shanghai: the evening shift, which hands over at midnight.
SHIFT_START = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)

ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "olga": ("patrol_officer", None),
    "oleg": ("patrol_officer", None),
    "sam": ("reviewer", None),
    "heping": ("field_unit", "xf-heping"),
    "qunli": ("field_unit", "dl-qunli"),
    "ana": ("analyst", None),
    "root": ("admin", None),
}


@dataclass(frozen=True)
class SeededFolder:
    data_dir: Path
    data: SeededData


def make_seeded_folder(root: Path) -> SeededFolder:
    """Seed the shift's posts, items and accounts into `root/data` and close everything."""
    clock = ManualClock(SHIFT_START)
    context = console_for_tests(root / "data", clock)
    try:
        data = seed(context, shift_posts(), now=clock.now())
        add_users(context, ACCOUNTS, now=clock.now())
    finally:
        close_console_context(context)
    return SeededFolder(data_dir=root / "data", data=data)


def copy_folder(folder: SeededFolder, target: Path) -> Path:
    shutil.copytree(folder.data_dir, target)
    return target
