"""The demo site's generated content: deterministic, every category and near-miss present, reposts
that point at older originals, ground truth for every post, and lazy generation at scale."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from difflib import SequenceMatcher
from itertools import pairwise

import pytest

from demo.content import DemoContent, pid_of
from demo.model import NO_RISK, Floor, PostTruth, Weibo
from demo.places import load_places
from patrol.schema import RISK_CATEGORIES


@pytest.fixture(scope="module")
def content() -> DemoContent:
    return DemoContent(seed=7, threads=60)


@pytest.fixture(scope="module")
def truth(content: DemoContent) -> dict[str, PostTruth]:
    return content.truth()


def _floors(content: DemoContent) -> list[Floor]:
    return [floor for tid in range(1, content.threads + 1) for floor in content.thread(tid).floors]


def _weibos(content: DemoContent) -> list[Weibo]:
    return [weibo for account in content.weibo_accounts for weibo in content.timeline(account.uid)]


def _texts_by_id(content: DemoContent) -> dict[str, str]:
    texts = {str(f.pid): f.text for f in _floors(content)}
    texts.update({str(w.mid): w.text for w in _weibos(content)})
    return texts


def test_same_seed_same_content_and_another_seed_differs() -> None:
    first, second, other = DemoContent(seed=7), DemoContent(seed=7), DemoContent(seed=8)
    assert [first.thread(t) for t in range(1, 61)] == [second.thread(t) for t in range(1, 61)]
    assert [first.timeline(a.uid) for a in first.weibo_accounts] == [
        second.timeline(a.uid) for a in second.weibo_accounts
    ]
    assert first.truth() == second.truth()
    assert [first.thread(t).floors[0].text for t in range(7, 61)] != [
        other.thread(t).floors[0].text for t in range(7, 61)
    ]


def test_default_size_is_a_quick_crawl(truth: dict[str, PostTruth]) -> None:
    kinds = Counter(t.kind for t in truth.values())
    assert 400 <= len(truth) <= 700, kinds
    assert set(kinds) == {"forum_post", "weibo", "comment"}


def test_every_category_is_on_the_forum_within_the_first_60_threads(content: DemoContent) -> None:
    labels = Counter(f.truth.label for f in _floors(content))
    missing = [c for c in RISK_CATEGORIES if labels[c] == 0]
    assert not missing, f"categories without a forum post: {missing}"
    assert set(labels) <= {*RISK_CATEGORIES, NO_RISK}
    # Mostly ordinary life: risky floors are a small share.
    assert labels[NO_RISK] > 5 * sum(labels[c] for c in RISK_CATEGORIES)


@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_every_category_and_near_misses_whatever_the_seed(seed: int) -> None:
    truth = DemoContent(seed=seed).truth()
    labels = {t.label for t in truth.values()}
    assert set(RISK_CATEGORIES) <= labels
    assert sum(t.near_miss for t in truth.values()) >= 20
    assert sum(t.dup_of is not None for t in truth.values()) >= 3


def test_near_misses_are_benign_and_include_the_classic_traps(content: DemoContent) -> None:
    texts = _texts_by_id(content)
    truth = content.truth()
    near_miss_texts = [texts[i] for i, t in truth.items() if t.near_miss and i in texts]
    assert all(t.label == NO_RISK for t in truth.values() if t.near_miss)
    joined = "\n".join(near_miss_texts)
    for marker in ("安全账户", "火灾已扑灭", "菜刀", "AKM", "连载", "溜冰"):
        assert marker in joined, f"no near-miss mentioning {marker}"
    police = next(a for a in content.weibo_accounts if a.screen_name == "平安香坊")
    publicity = [w for w in content.timeline(police.uid) if "公检法不会要求转账到安全账户" in w.text]
    assert publicity and all(w.truth.near_miss and w.truth.label == NO_RISK for w in publicity)


def test_reposts_point_at_older_originals_with_similar_text(content: DemoContent) -> None:
    texts = _texts_by_id(content)
    times = {str(f.pid): f.posted_at for f in _floors(content)}
    times.update({str(w.mid): w.created_at for w in _weibos(content)})
    truth = content.truth()
    copies = {i: t for i, t in truth.items() if t.dup_of is not None}
    kinds = {(truth[i].kind, truth[t.dup_of].kind) for i, t in copies.items() if t.dup_of in truth}
    assert ("forum_post", "forum_post") in kinds and ("weibo", "forum_post") in kinds
    assert ("forum_post", "weibo") in kinds
    for copy_id, copy in copies.items():
        original = copy.dup_of
        assert original in truth, f"{copy_id} copies unknown post {original}"
        assert truth[original].label == copy.label != NO_RISK
        assert times[original] < times[copy_id]
        assert texts[copy_id] != texts[original]
        assert SequenceMatcher(None, texts[copy_id], texts[original]).ratio() > 0.7


def test_obfuscated_spam_is_present_and_labelled(content: DemoContent) -> None:
    floors = _floors(content)
    obfuscated = [f for f in floors if any(m in f.text for m in ("枪 支", "加薇", "加 薇", "V信", "刷 单"))]
    assert len(obfuscated) >= 3
    assert all(f.truth.label != NO_RISK for f in obfuscated)


def test_complaints_about_services_are_never_risk(content: DemoContent) -> None:
    posts = [(f.text, f.truth) for f in _floors(content)] + [(w.text, w.truth) for w in _weibos(content)]
    complaints = [(text, t) for text, t in posts if any(m in text for m in ("暖气", "12345", "物业费", "投诉"))]
    assert len(complaints) >= 5
    assert all(t.label == NO_RISK for _, t in complaints), [text for text, t in complaints if t.label != NO_RISK]


def test_posts_name_gazetteer_places(content: DemoContent) -> None:
    book = load_places()
    names = {p.name for p in book.places} | {a for p in book.places for a in p.aliases}
    text = "\n".join(_texts_by_id(content).values())
    assert sum(1 for name in names if name in text) >= 15


def test_truth_covers_every_post_with_its_native_id(content: DemoContent, truth: dict[str, PostTruth]) -> None:
    expected = {str(f.pid) for f in _floors(content)}
    for weibo in _weibos(content):
        expected.add(str(weibo.mid))
        expected.update(str(c.cid) for c in content.comments(weibo.mid))
    assert set(truth) == expected
    assert pid_of(12, 3) == int(str(content.thread(12).floors[2].pid))


def test_thread_summary_matches_its_floors(content: DemoContent) -> None:
    for tid in range(1, 61):
        thread = content.thread(tid)
        summary, floors = thread.summary, thread.floors
        assert summary.replies == len(floors) - 1
        assert (summary.created_at, summary.author) == (floors[0].posted_at, floors[0].author)
        assert (summary.last_post_at, summary.last_poster) == (floors[-1].posted_at, floors[-1].author)
        assert [f.number for f in floors] == list(range(1, len(floors) + 1))
        assert all(a.posted_at <= b.posted_at <= content.now for a, b in pairwise(floors))


def test_board_listing_is_sticky_first_then_newest_last_post(content: DemoContent) -> None:
    for board in content.boards:
        rows = content.threads_in_board(board.fid)
        assert rows and rows[0].sticky
        normal = [r for r in rows if not r.sticky]
        assert [r.last_post_at for r in normal] == sorted((r.last_post_at for r in normal), reverse=True)
    # The biggest board needs a second list page even in the default demo.
    assert max(len(content.threads_in_board(b.fid)) for b in content.boards) > 21


def test_weibo_mids_grow_with_time_and_the_pinned_post_is_old(content: DemoContent) -> None:
    for account in content.weibo_accounts:
        timeline = content.timeline(account.uid)
        regular = [w for w in timeline if not w.pinned]
        assert [w.mid for w in regular] == sorted((w.mid for w in regular), reverse=True)
        assert [w.created_at for w in regular] == sorted((w.created_at for w in regular), reverse=True)
        pinned = [w for w in timeline if w.pinned]
        if pinned:
            assert timeline[0].pinned and pinned[0].mid < regular[-1].mid
    assert any(w.pinned for w in _weibos(content))
    assert any(w.retweet_of is not None for w in _weibos(content))


def test_lazy_generation_at_ten_thousand_threads() -> None:
    started = time.perf_counter()
    big = DemoContent(seed=7, threads=10_000)
    for board in big.boards:
        assert big.threads_in_board(board.fid)
    elapsed = time.perf_counter() - started
    assert big.threads_generated == 0, "list pages must not generate floors"
    assert elapsed < 15, f"building the 10k thread index took {elapsed:.1f}s"
    thread = big.thread(9_876)
    assert big.threads_generated == 1
    assert thread.summary == big.thread_summary(9_876)
    assert 1 <= len(thread.floors) <= 90


def test_bad_arguments_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="naive"):
        DemoContent(now=datetime(2026, 11, 28, 10, 0))
    with pytest.raises(ValueError, match="at least 1 thread"):
        DemoContent(threads=0)
    with pytest.raises(KeyError, match=r"1\.\.60"):
        DemoContent().thread(61)


def test_a_tiny_forum_still_generates() -> None:
    tiny = DemoContent(seed=3, threads=4)
    assert [len(tiny.thread(t).floors) >= 1 for t in range(1, 5)] == [True] * 4
    assert tiny.truth()
