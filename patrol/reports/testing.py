"""A small world whose weekly figures are known by hand, for testing the report end to end.

`build_known_world(data_dir)` fills a fresh data dir through the real store, the real workflow
functions (flag stage, claims, dismissals, escalations, task steps, SLA breach detection) and the
real ledger, at chosen times around ISO week 2026-W47 (16-22 Nov 2026, Asia/Shanghai). The true
figures are written out, derived by hand, in `tests/integration/test_report_weekly.py`.

Among the posts is a hostile one (markup, a formula, a javascript: link) that the topic section
shows as a representative post, so every format is checked against crawled text that bites.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import select

from patrol.config import Settings, load_settings
from patrol.ledger import Ledger
from patrol.reports.week import REPORT_ZONE, ReportWeek
from patrol.schema import AnalysedPost, Analysis, CrawlReport, Post, SourceError
from patrol.store.sqlite import SqlitePostStore
from patrol.thresholds import load_thresholds
from patrol.workflow import items as review
from patrol.workflow import tasks as field
from patrol.workflow.actors import Actor, Role
from patrol.workflow.db import WorkflowDb
from patrol.workflow.flagging import open_review_items
from patrol.workflow.models import ReviewItem
from patrol.workflow.policy import WorkflowFiles, WorkflowPolicy, load_workflow_policy
from patrol.workflow.sla import detect_breaches

KNOWN_WEEK = ReportWeek(2026, 47)
FORUM, WEIBO = "forum-a", "weibo-b"
HEPING, XUEFU = "xf-heping", "ng-xuefu"
OFFICER = Actor("desk-officer", Role.PATROL_OFFICER)
HOSTILE_TITLE = '=HYPERLINK("http://evil.test","点我")<script>alert(1)</script>冰雕展'
HOSTILE_URL = "javascript:alert(1)"

Kind = Literal["heat", "ice", "traffic", "plain", "fraud", "hazard", "fraud_hazard", "self_harm"]

#: keywords, sentiment, label, risk scores of each kind of post
KINDS: dict[str, tuple[list[str], float, str, dict[str, float]]] = {
    "heat": (["供暖", "暖气"], -0.5, "negative", {}),
    "ice": (["冰雕", "冰灯"], 0.6, "positive", {}),
    "traffic": (["堵车", "路口"], -0.2, "neutral", {}),
    "plain": ([], 0.0, "neutral", {}),
    "fraud": (["退款"], -0.3, "neutral", {"fraud": 0.9}),
    "hazard": (["冒烟"], -0.4, "neutral", {"public_hazard": 0.7}),
    "fraud_hazard": (["退款"], -0.3, "neutral", {"fraud": 0.9, "public_hazard": 0.7}),
    "self_harm": (["轻生"], -0.8, "negative", {"self_harm": 0.8}),
}


@dataclass(frozen=True)
class PostSpec:
    name: str
    when: datetime  # local time
    source: str
    kind: Kind
    unit: str | None = None


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=REPORT_ZONE)


def _spec(
    name: str, day: int, hour: int, source: str, kind: Kind, unit: str | None = None, minute: int = 0
) -> PostSpec:
    return PostSpec(name, _local(day, hour, minute), source, kind, unit)


F, W = FORUM, WEIBO
#: The report's week, 2026-W47: 28 posts (13 forum, 15 weibo), per day 4 4 4 4 4 5 3.
WEEK_POSTS: list[PostSpec] = [
    _spec("w47-mon-heat", 16, 0, F, "heat", minute=5),  # 00:05 local is still Sunday in UTC
    _spec("F1", 16, 10, F, "fraud", HEPING),
    _spec("F2", 16, 14, W, "fraud", XUEFU),
    _spec("w47-mon-ice", 16, 20, W, "ice"),  # the hostile post
    _spec("F3", 17, 9, F, "fraud_hazard", HEPING),
    _spec("w47-tue-heat-1", 17, 12, F, "heat", HEPING),
    _spec("w47-tue-heat-2", 17, 13, W, "heat", HEPING),
    _spec("w47-tue-traffic", 17, 18, F, "traffic", XUEFU),
    _spec("F4", 18, 9, W, "fraud", XUEFU),
    _spec("w47-wed-heat", 18, 10, F, "heat", HEPING),
    _spec("w47-wed-ice", 18, 11, F, "ice"),
    _spec("w47-wed-traffic", 18, 12, W, "traffic", XUEFU),
    _spec("H1", 19, 9, F, "hazard", HEPING),
    _spec("w47-thu-heat", 19, 10, W, "heat", HEPING),
    _spec("w47-thu-ice", 19, 11, W, "ice"),
    _spec("w47-thu-traffic", 19, 12, F, "traffic"),
    _spec("w47-fri-heat", 20, 8, F, "heat", HEPING),
    _spec("w47-fri-ice", 20, 9, F, "ice"),
    _spec("w47-fri-traffic", 20, 10, W, "traffic"),
    _spec("S1", 20, 21, W, "self_harm", XUEFU),
    _spec("w47-sat-heat-1", 21, 10, W, "heat"),
    _spec("w47-sat-heat-2", 21, 11, W, "heat"),
    _spec("w47-sat-ice", 21, 12, W, "ice"),
    _spec("w47-sat-traffic", 21, 13, W, "traffic"),
    _spec("w47-sat-plain", 21, 14, W, "plain"),
    _spec("w47-sun-heat-1", 22, 10, F, "heat"),
    _spec("w47-sun-heat-2", 22, 11, W, "heat"),
    _spec("w47-sun-ice", 22, 23, F, "ice", minute=30),  # 23:30 local is 15:30 UTC: still this week
]
#: The week before, 2026-W46: 12 posts (7 forum, 5 weibo), per day 2 2 2 1 2 1 2.
PREVIOUS_POSTS: list[PostSpec] = [
    _spec("w46-mon-traffic-1", 9, 10, F, "traffic", XUEFU),
    _spec("w46-mon-traffic-2", 9, 11, W, "traffic", XUEFU),
    _spec("F0", 10, 10, F, "fraud"),
    _spec("w46-tue-heat", 10, 12, F, "heat"),
    _spec("H0a", 11, 10, F, "hazard", HEPING),
    _spec("w46-wed-traffic", 11, 10, W, "traffic", XUEFU),
    _spec("w46-thu-traffic", 12, 10, F, "traffic", XUEFU),
    _spec("w46-fri-heat", 13, 10, W, "heat"),
    _spec("w46-fri-traffic", 13, 11, W, "traffic", XUEFU),
    _spec("w46-sat-plain", 14, 10, F, "plain"),
    _spec("H0b", 15, 21, F, "hazard", HEPING),
    _spec("w46-sun-plain", 15, 23, W, "plain", minute=55),
]
#: W43-W45: two heating posts (Wednesdays) and five traffic posts (Thursdays) a week; and one post
#: ten minutes after W47 ends.
OTHER_POSTS: list[PostSpec] = [
    *(
        PostSpec(f"w{45 - k}-heat-{i}", _local(4, 10 + i) - timedelta(weeks=k), F, "heat")
        for k in range(3)
        for i in range(2)
    ),
    *(
        PostSpec(f"w{45 - k}-traffic-{i}", _local(5, 10 + i) - timedelta(weeks=k), F, "traffic")
        for k in range(3)
        for i in range(5)
    ),
    _spec("w48-mon-plain", 23, 0, W, "plain", minute=10),
]


def all_specs() -> list[PostSpec]:
    return [*WEEK_POSTS, *PREVIOUS_POSTS, *OTHER_POSTS]


def _simhash(name: str) -> int:
    # Far apart for distinct posts, so the flag stage never merges them as near-duplicates.
    return int(hashlib.sha1(name.encode()).hexdigest()[:15], 16)


def analysed_post(spec: PostSpec, index: int) -> AnalysedPost:
    keywords, sentiment, label, scores = KINDS[spec.kind]
    source_kind = "forum_post" if spec.source == FORUM else "weibo"
    hostile = spec.name == "w47-mon-ice"
    post = Post(
        id=f"{spec.source}:{spec.name}",
        source_id=spec.source,
        native_id=spec.name,
        kind=source_kind,
        url=HOSTILE_URL if hostile else f"http://{spec.source}.test/p/{spec.name}",
        author=f"居民{index % 5}",
        title=HOSTILE_TITLE if hostile else f"{spec.kind} {spec.name}",
        text=f"{'、'.join(keywords) or '日常'} — {spec.name}",
        published_at=spec.when,
        fetched_at=spec.when + timedelta(minutes=3),
        jurisdiction_hint=None,
    )
    analysis = Analysis(
        post_id=post.id,
        normalized_text=post.text,
        tokens=[*keywords, spec.name],
        keywords=[*keywords, f"独有{spec.name}"],  # one keyword of its own, too rare to be a topic
        risk_scores=scores,
        jurisdiction=spec.unit,
        sentiment=sentiment,
        sentiment_label=label,
        simhash=_simhash(spec.name),
        scorer="lexicon:test",
    )
    return AnalysedPost(post=post, analysis=analysis)


def write_sources_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "sources:\n"
        f"  - {{id: {FORUM}, kind: discuz, start_urls: ['http://{FORUM}.test/forum.php']}}\n"
        f"  - {{id: {WEIBO}, kind: weibo, start_urls: ['http://{WEIBO}.test/api']}}\n"
        "  - {id: retired-site, kind: discuz, start_urls: ['http://retired.test/'], enabled: false}\n",
        encoding="utf-8",
    )
    return path


class _Desk:
    """Drives the real workflow functions at chosen times."""

    def __init__(self, db: WorkflowDb, policy: WorkflowPolicy) -> None:
        self.db, self.policy = db, policy

    def item_of(self, post_id: str, category: str) -> str:
        with self.db.session() as s:
            return s.scalars(
                select(ReviewItem.id).where(ReviewItem.first_post_id == post_id, ReviewItem.category == category)
            ).one()

    def dismiss(self, item_id: str, reason: str, at: datetime) -> None:
        with self.db.session() as s:
            review.claim_item(s, self.policy, OFFICER, item_id, now=at)
            review.dismiss_item(s, self.policy, OFFICER, item_id, reason=reason, note=None, now=at)

    def escalate(self, item_id: str, at: datetime) -> str:
        with self.db.session() as s:
            review.claim_item(s, self.policy, OFFICER, item_id, now=at)
            return review.escalate_item(s, self.policy, OFFICER, item_id, now=at).id

    def acknowledge(self, item_id: str, at: datetime) -> None:
        with self.db.session() as s:
            review.acknowledge_item(s, OFFICER, item_id, now=at)

    def work(self, task_id: str, unit: str, start: datetime, accept: int, begin: int, done: int, outcome: str) -> None:
        unit_desk = Actor(f"{unit}-desk", Role.FIELD_UNIT, unit)
        with self.db.session() as s:
            field.accept_task(s, unit_desk, task_id, now=start + timedelta(minutes=accept))
        with self.db.session() as s:
            field.start_task(s, unit_desk, task_id, now=start + timedelta(minutes=begin))
        with self.db.session() as s:
            field.complete_task(s, unit_desk, task_id, outcome=outcome, note=None, now=start + timedelta(minutes=done))

    def tick(self, at: datetime) -> None:
        with self.db.session() as s:
            detect_breaches(s, self.policy, now=at)


def _workflow(db: WorkflowDb, policy: WorkflowPolicy, posts: dict[str, AnalysedPost], settings: Settings) -> None:
    thresholds = load_thresholds(settings.thresholds_file)
    desk = _Desk(db, policy)
    for post in sorted(posts.values(), key=lambda p: p.post.published_at):
        if post.analysis.risk_scores:
            with db.session() as s:
                open_review_items(s, [post], thresholds, max_distance=3, now=post.post.published_at)

    def at(name: str, minutes: int = 0) -> datetime:
        return posts[name].post.published_at + timedelta(minutes=minutes)

    def pid(name: str) -> str:
        return posts[name].post.id

    # W46: one fraud item dismissed, two hazard items escalated; the second task ends in W47.
    desk.dismiss(desk.item_of(pid("F0"), "fraud"), "false_positive", at("F0", 60))
    t6 = desk.escalate(desk.item_of(pid("H0a"), "public_hazard"), at("H0a", 30))
    desk.work(t6, HEPING, at("H0a", 30), 10, 20, 100, "confirmed")
    t7 = desk.escalate(desk.item_of(pid("H0b"), "public_hazard"), at("H0b", 30))
    desk.work(t7, HEPING, at("H0b", 30), 10, 20, 600, "confirmed")  # completed Monday 07:30 of W47

    # W47
    desk.dismiss(desk.item_of(pid("F1"), "fraud"), "false_positive", at("F1", 60))
    desk.dismiss(desk.item_of(pid("F2"), "fraud"), "not_actionable", at("F2", 60))
    t1 = desk.escalate(desk.item_of(pid("F3"), "fraud"), at("F3", 30))
    desk.work(t1, HEPING, at("F3", 30), 30, 60, 600, "confirmed")
    t3 = desk.escalate(desk.item_of(pid("F3"), "public_hazard"), at("F3", 40))
    desk.work(t3, HEPING, at("F3", 40), 10, 20, 200, "confirmed")
    t2 = desk.escalate(desk.item_of(pid("F4"), "fraud"), at("F4", 30))
    desk.tick(at("F4", 30 + 70))  # acknowledge (60 min) missed
    desk.work(t2, XUEFU, at("F4", 30), 90, 120, 1000, "unfounded")
    t4 = desk.escalate(desk.item_of(pid("H1"), "public_hazard"), at("H1", 30))
    heping = Actor(f"{HEPING}-desk", Role.FIELD_UNIT, HEPING)
    desk.tick(at("H1", 30 + 17))  # acknowledge (15 min) missed
    with db.session() as s:
        field.accept_task(s, heping, t4, now=at("H1", 30 + 20))
    desk.tick(at("H1", 30 + 65))  # dispatch (60 min) missed
    with db.session() as s:
        field.start_task(s, heping, t4, now=at("H1", 30 + 100))
    desk.tick(at("H1", 30 + 250))  # verify (240 min) missed
    with db.session() as s:
        field.complete_task(s, heping, t4, outcome="referred", note=None, now=at("H1", 30 + 300))
    s1 = desk.item_of(pid("S1"), "self_harm")
    desk.acknowledge(s1, at("S1", 4))
    t5 = desk.escalate(s1, at("S1", 6))
    desk.work(t5, XUEFU, at("S1", 6), 2, 5, 40, "unreachable")


def _crawl_runs(ledger: Ledger) -> None:
    """One crawl a day per source at 10:00; forum-a fails on Saturday and Sunday, weibo-b has one
    timeout on Wednesday."""
    for day in KNOWN_WEEK.days:
        started = datetime(day.year, day.month, day.day, 10, tzinfo=REPORT_ZONE).astimezone(UTC)
        weekend = day.weekday() >= 5
        forum_errors = [SourceError(kind="http_status", url=f"http://{FORUM}.test/forum.php", message="HTTP 503")]
        ledger.record_crawl(
            CrawlReport(
                source_id=FORUM,
                pass_id=f"pass-{day:%m%d}",
                started_at=started,
                finished_at=started + timedelta(minutes=2),
                ok=not weekend,
                requests=10,
                pages=0 if weekend else 8,
                items=0 if weekend else 5,
                new_items=0 if weekend else 3,
                errors=forum_errors if weekend else [],
            )
        )
        weibo_errors = [SourceError(kind="timeout", url=f"http://{WEIBO}.test/api?page=3", message="timed out")]
        ledger.record_crawl(
            CrawlReport(
                source_id=WEIBO,
                pass_id=f"pass-{day:%m%d}",
                started_at=started,
                finished_at=started + timedelta(minutes=2),
                ok=True,
                requests=10,
                pages=8,
                items=5,
                new_items=3,
                errors=weibo_errors if day.weekday() == 2 else [],
            )
        )


def _schemes(db: WorkflowDb, posts: dict[str, AnalysedPost]) -> None:
    """A heating scheme active since 1 Nov (its matches: every heating post of W46 and W47) and an
    expired one that must not get a section."""
    try:
        from patrol.schemes.models import Scheme, SchemeMatch
    except ImportError:
        return
    created = datetime(2026, 10, 1, tzinfo=UTC)
    with db.session() as s:
        for scheme_id, name, active_from, active_until in (
            ("sch-heat", "冬季供暖", datetime(2026, 11, 1, tzinfo=UTC), None),
            ("sch-old", "国庆安保", datetime(2026, 9, 25, tzinfo=UTC), datetime(2026, 10, 8, tzinfo=UTC)),
        ):
            s.add(
                Scheme(
                    id=scheme_id,
                    name=name,
                    purpose=f"{name}期间的舆情",
                    owner="analyst",
                    query="供暖 | 暖气",
                    version=1,
                    active_from=active_from,
                    active_until=active_until,
                    alert_mode="digest",
                    digest_period="daily",
                    spike_ratio=3.0,
                    spike_min_count=5,
                    created_at=created,
                    created_by="analyst",
                    updated_at=created,
                    updated_by="analyst",
                )
            )
        s.flush()
        for item in posts.values():
            if "供暖" not in item.analysis.keywords:
                continue
            s.add(
                SchemeMatch(
                    scheme_id="sch-heat",
                    post_id=item.post.id,
                    scheme_version=1,
                    source_id=item.post.source_id,
                    published_at=item.post.published_at,
                    matched_at=item.post.fetched_at,
                    simhash=item.analysis.simhash,
                    group_post_id=item.post.id,
                    terms_json='["供暖"]',
                    life_safety=False,
                    jurisdiction=item.analysis.jurisdiction,
                )
            )


def build_known_world(data_dir: Path) -> Settings:
    """Fill `data_dir` (fresh) with the known world; returns the settings that point at it."""
    settings = load_settings(data_dir=data_dir, sources_file=write_sources_file(data_dir / "sources.yaml"))
    settings.ensure_dirs()
    posts = {spec.name: analysed_post(spec, i) for i, spec in enumerate(all_specs())}
    store = SqlitePostStore(settings.sqlite_path, thresholds=load_thresholds(settings.thresholds_file))
    try:
        result = store.upsert(list(posts.values()))
        if result.failed:
            raise RuntimeError(f"known world: posts refused: {result.failures}")
    finally:
        store.close()
    db = WorkflowDb(settings.workflow_url)
    try:
        _workflow(db, load_workflow_policy(WorkflowFiles.from_settings(settings)), posts, settings)
        _schemes(db, posts)
    finally:
        db.dispose()
    ledger = Ledger(settings.sqlite_path)
    try:
        _crawl_runs(ledger)
    finally:
        ledger.close()
    return settings
