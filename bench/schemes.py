"""Scheme matching throughput: posts/s matched against 1,000 active schemes, on one and on two cores.

    python -m bench.schemes [--schemes 1000] [--posts 20000] [--workers 2] [--seed 7]

Posts are the demo site's own texts (everyday topics, risky posts, near-misses) with their slots
filled from the gazetteer, normalised and segmented once beforehand (that is the NLP stage's work,
not the matcher's). Schemes are generated from the posts' own words, risk words and places, in the
shapes people write: alternatives, exclusions, NEAR, title scopes, place and source filters.
The timed part is what the live stage does per post: build the match document (normalising the
title), one Aho-Corasick pass, and the boolean structure of the triggered schemes.

Prints the figures and writes them to bench/results/schemes.json. Target: >= 5,000 posts/s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.corpus.boards import TOPICS
from demo.corpus.near_miss import FORUM_NEAR_MISSES
from demo.corpus.risky import RISKY
from patrol.schema import RISK_CATEGORIES, AnalysedPost, Analysis, PlaceTag, Post
from patrol.schemes.context import MatchContext
from patrol.schemes.matcher import SchemeMatcher, SchemeSource
from patrol.schemes.query import QueryError, parse_query

PLACES = [
    "香坊",
    "南岗",
    "道里",
    "道外",
    "和平路",
    "学府路",
    "红旗大街",
    "中央大街",
    "群力",
    "万达广场",
    "哈工大",
    "靖宇公园",
]
PLACE_TAGS = {"香坊": "香坊区", "南岗": "南岗区", "道里": "道里区", "道外": "道外区", "和平路": "和平路街道"}
RISK_WORDS = [
    "燃气",
    "泄漏",
    "煤气",
    "着火",
    "爆炸",
    "塌陷",
    "溺水",
    "车祸",
    "砍死",
    "报复",
    "仿真枪",
    "管制刀具",
    "炸药",
    "刷单",
    "返利",
    "安全账户",
    "冒充",
    "网贷",
    "冰毒",
    "溜冰",
    "网赌",
    "博彩",
    "跳楼",
    "不想活了",
    "人肉",
    "网暴",
    "演练",
    "谣言",
    "辟谣",
    "微信",
    "qq",
    "转账",
    "验证码",
    "学校",
    "门口",
    "放学",
    "马拉松",
    "封路",
    "中毒",
]
SOURCES = ["harbin_forum", "weibo_xf", "weibo_ng", "news_hrb", "tieba_hrb"]
BASE = datetime(2026, 11, 27, tzinfo=UTC)
_SLOT = re.compile(r"\{[a-z_0-9]+\}")


def _texts() -> list[tuple[str, str]]:
    """(title, text) pairs from the demo corpus."""
    pairs: list[tuple[str, str]] = []
    for topic in TOPICS:
        for body in topic.bodies:
            pairs.append((topic.titles[0] if topic.titles else "", body))
        pairs.extend(("", reply) for reply in topic.replies)
    pairs.extend((t.title, t.text) for t in (*RISKY, *FORUM_NEAR_MISSES))
    return pairs


def make_posts(count: int, rng: random.Random, context: MatchContext) -> list[AnalysedPost]:
    corpus = _texts()
    posts: list[AnalysedPost] = []
    for index in range(count):
        title, text = rng.choice(corpus)
        fill = lambda _: rng.choice(PLACES)  # noqa: E731
        text, title = _SLOT.sub(fill, text), _SLOT.sub(fill, title)
        floor = 1 if title and rng.random() < 0.3 else rng.randint(2, 40)
        post = Post(
            id=f"bench:{index}",
            source_id=rng.choice(SOURCES),
            kind=rng.choice(["forum_post", "weibo", "article"]),
            url=f"http://bench.test/{index}",
            title=title if floor == 1 else None,
            thread_title=title or None,
            floor=floor,
            text=text,
            published_at=BASE + timedelta(seconds=index),
            fetched_at=BASE,
        )
        normalized = context.normalize(text)
        tokens = [t for t in context.cut(normalized) if re.search(r"\w", t)]
        places = [
            PlaceTag(name=PLACE_TAGS[p], level="district", unit="xf-branch", start=0, end=1)
            for p in PLACE_TAGS
            if p in normalized
        ]
        scores = {c: round(rng.random(), 2) for c in rng.sample(RISK_CATEGORIES, 2)}
        analysis = Analysis(
            post_id=post.id,
            normalized_text=normalized,
            tokens=tokens,
            keywords=tokens[:5],
            risk_scores=scores,
            places=places,
            sentiment_label=rng.choice(["negative", "neutral", "positive"]),
            simhash=rng.getrandbits(63),
        )
        posts.append(AnalysedPost(post=post, analysis=analysis))
    return posts


def make_queries(count: int, rng: random.Random, posts: list[AnalysedPost]) -> list[str]:
    words = Counter(t for p in posts for t in p.analysis.tokens if len(t) >= 2)
    vocabulary = [w for w, _ in words.most_common(3000)[50:]] + RISK_WORDS  # skip the commonest words
    shapes = [
        "{a} {b}",
        "({a} OR {b} OR {c}) {d}",
        "({a} OR {b}) ({c} OR {d}) NOT {e}",
        "{a} NEAR/5 {b}",
        "({a} OR {b}) NEAR/3 {c} place:{place}",
        "title:{a} {b}",
        '"{a}{b}" OR {c}',
        "{a} {b} source:{source}",
        "{a} category:{category}",
        "({a} OR {b}) NOT ({c} OR {d}) sentiment:negative",
    ]
    queries: list[str] = []
    while len(queries) < count:
        picks = {k: rng.choice(vocabulary) for k in "abcde"}
        query = rng.choice(shapes).format(
            **picks, place=rng.choice(PLACES[:5]), source=rng.choice(SOURCES), category=rng.choice(RISK_CATEGORIES)
        )
        try:
            parse_query(query)
        except QueryError:
            continue
        queries.append(query)
    return queries


# One matcher per worker process, inherited through fork rather than pickled.
_WORKER: tuple[SchemeMatcher, list[AnalysedPost]] | None = None


def _match_slice(bounds: tuple[int, int]) -> tuple[int, float]:
    """Matches in a slice of the posts, and the CPU seconds this worker spent on them."""
    assert _WORKER is not None
    matcher, posts = _WORKER
    start = time.process_time()
    hits = sum(len(matcher.match_post(p)) for p in posts[bounds[0] : bounds[1]])
    return hits, time.process_time() - start


def main() -> None:
    global _WORKER
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schemes", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    context = MatchContext()

    started = time.perf_counter()
    posts = make_posts(args.posts, rng, context)
    prepared = time.perf_counter() - started
    queries = make_queries(args.schemes, rng, posts)

    started = time.perf_counter()
    matcher = SchemeMatcher([SchemeSource(f"s{i}", q) for i, q in enumerate(queries)], context)
    compile_s = time.perf_counter() - started
    assert not matcher.errors, next(iter(matcher.errors.values()))
    matcher.match_post(posts[0])  # first call outside the timing (lazy tables)

    started, cpu_started = time.perf_counter(), time.process_time()
    hits = [len(matcher.match_post(p)) for p in posts]
    one_core_s = time.perf_counter() - started
    one_core_cpu_s = time.process_time() - cpu_started

    _WORKER = (matcher, posts)
    step = -(-len(posts) // args.workers)
    slices = [(i, min(i + step, len(posts))) for i in range(0, len(posts), step)]
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        pool.map(_match_slice, [(0, 10)] * args.workers)  # start the workers outside the timing
        started = time.perf_counter()
        results = pool.map(_match_slice, slices)
        parallel_s = time.perf_counter() - started
    assert sum(h for h, _ in results) == sum(hits)
    # Wall-clock figures drop when other work shares the cores; CPU seconds per post do not, and
    # matching is embarrassingly parallel, so workers x posts per CPU-second is the capacity.
    busiest_cpu_s = max(cpu for _, cpu in results)

    figures = {
        "schemes": matcher.scheme_count,
        "patterns": matcher.pattern_count,
        "posts": len(posts),
        "matched_posts": sum(1 for h in hits if h),
        "matches": sum(hits),
        "compile_s": round(compile_s, 3),
        "prepare_posts_s": round(prepared, 3),
        "posts_per_s_1_core": round(len(posts) / one_core_s, 1),
        f"posts_per_s_{args.workers}_cores": round(len(posts) / parallel_s, 1),
        "posts_per_cpu_s_1_core": round(len(posts) / one_core_cpu_s, 1),
        f"posts_per_cpu_s_{args.workers}_cores": round(len(posts) / busiest_cpu_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(f"{figures['schemes']} schemes ({figures['patterns']} distinct words) compiled in {compile_s:.2f} s")
    print(
        f"{len(posts)} posts, {figures['matched_posts']} matched by at least one scheme, {figures['matches']} matches"
    )
    cpu_key = f"posts_per_cpu_s_{args.workers}_cores"
    print(
        f"1 core:  {figures['posts_per_s_1_core']:>10,.0f} posts/s wall,"
        f" {figures['posts_per_cpu_s_1_core']:>10,.0f} per CPU-s"
    )
    print(
        f"{args.workers} cores: {figures[f'posts_per_s_{args.workers}_cores']:>10,.0f} posts/s wall,"
        f" {figures[cpu_key]:>10,.0f} per CPU-s of the busiest worker  (target >= 5,000)"
    )
    print(f"load average while running: {figures['load_average_1min']} (other work on the machine lowers the figures)")
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "schemes.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
