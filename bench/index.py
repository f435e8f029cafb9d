"""Indexing throughput: SQLite upserts, and building Elasticsearch bulk bodies (serialisation cost).

    python -m bench.index [--posts 100000] [--batch 1000]
    PATROL_ES_URL=http://elastic:...@localhost:9200 python -m bench.index --es   # also a real bulk load

The posts are the demo site's forum floors (`demo.content.DemoContent`), analysed by the real NLP
pipeline (lexicon scorer, no model); without the demo package or the NLP resources it falls back to
synthetic posts. Analysis is preparation and is timed apart. Prints one line per figure and writes
them as JSON to bench/results/index.json. With --es the posts are also bulk-loaded into the cluster
at PATROL_ES_URL under a scratch prefix (removed afterwards), which measures the node itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from patrol.schema import AnalysedPost, Analysis, Post, make_post_id
from patrol.store.elastic import IndexNames, bulk_lines, mapping_version, post_document
from patrol.store.elastic.layout import month_of
from patrol.store.sqlite import SqlitePostStore
from patrol.thresholds import Thresholds

RESULTS = Path(__file__).resolve().parent / "results" / "index.json"
SECONDS_PER_DAY = 86_400


def demo_posts(count: int) -> list[Post]:
    from demo.content import DemoContent

    content = DemoContent(threads=max(60, count // 4))
    posts: list[Post] = []
    fetched = datetime(2026, 11, 28, 3, tzinfo=UTC)
    for tid in range(1, content.threads + 1):
        thread = content.thread(tid)
        for floor in thread.floors:
            posts.append(
                Post(
                    id=make_post_id("demo-forum", str(floor.pid)),
                    source_id="demo-forum",
                    native_id=str(floor.pid),
                    kind="forum_post",
                    url=f"http://demo.test/forum.php?mod=redirect&goto=findpost&pid={floor.pid}&ptid={tid}",
                    thread_id=str(tid),
                    thread_title=thread.title,
                    floor=floor.number,
                    author=floor.author.name,
                    title=thread.title if floor.number == 1 else None,
                    text=floor.text,
                    quote=floor.quote.text if floor.quote else None,
                    published_at=floor.posted_at,
                    fetched_at=fetched,
                )
            )
            if len(posts) == count:
                return posts
    return posts


def analyse_demo(posts: list[Post]) -> tuple[list[AnalysedPost], Callable[[str], list[str]], str]:
    from nlp.pipeline import NlpPipeline
    from patrol.config import load_settings

    nlp = NlpPipeline.from_settings(load_settings())
    # Demo floors repeat their templates; analyse each distinct text once and reuse it.
    by_text: dict[str, Analysis] = {}
    distinct = list({p.text: p for p in posts}.values())
    for start in range(0, len(distinct), 512):
        chunk = distinct[start : start + 512]
        for post, analysis in zip(chunk, nlp.analyse(chunk), strict=True):
            by_text[post.text] = analysis
    analysed = [AnalysedPost(post=p, analysis=by_text[p.text].model_copy(update={"post_id": p.id})) for p in posts]
    return analysed, nlp.tokenize_query, f"demo forum floors, {len(distinct)} distinct texts, {nlp.scorer_name}"


def synthetic_posts(count: int) -> tuple[list[AnalysedPost], Callable[[str], list[str]], str]:
    rng = random.Random(7)
    words = [
        "香坊",
        "南岗",
        "道里",
        "燃气",
        "泄漏",
        "小区",
        "物业",
        "停车",
        "堵车",
        "学校",
        "医院",
        "派出所",
        "今天",
        "晚上",
        "邻居",
        "消息",
        "价格",
        "转让",
        "求助",
        "通知",
        "施工",
        "噪音",
        "地铁",
        "公交",
    ]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out: list[AnalysedPost] = []
    for i in range(count):
        tokens = [rng.choice(words) for _ in range(rng.randint(8, 60))]
        post = Post(
            id=make_post_id("synthetic", str(i)),
            source_id="synthetic",
            native_id=str(i),
            kind="forum_post",
            url=f"http://forum.test/t/{i // 5}#{i % 5 + 1}",
            thread_id=str(i // 5),
            floor=i % 5 + 1,
            text="".join(tokens),
            published_at=start + timedelta(seconds=20 * i),
            fetched_at=start + timedelta(seconds=20 * i + 600),
        )
        scores = {"public_hazard": round(rng.random() * 0.6, 3)} if "燃气" in tokens else {}
        analysis = Analysis(
            post_id=post.id,
            normalized_text=post.text,
            tokens=tokens,
            keywords=sorted(set(tokens))[:5],
            risk_scores=scores,
            sentiment=round(rng.uniform(-1, 1), 3),
            simhash=rng.getrandbits(63),
        )
        out.append(AnalysedPost(post=post, analysis=analysis))
    return out, str.split, "synthetic posts (demo content or NLP resources unavailable)"


def bench_sqlite(posts: list[AnalysedPost], tokenize: Callable[[str], list[str]], batch: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlitePostStore(Path(tmp) / "bench.db", tokenize=tokenize, thresholds=Thresholds())
        figures: dict[str, float] = {}
        for label in ("insert", "unchanged"):
            started, cpu = time.perf_counter(), time.process_time()
            for offset in range(0, len(posts), batch):
                store.upsert(posts[offset : offset + batch])
            figures[f"sqlite_{label}_docs_per_s"] = len(posts) / (time.perf_counter() - started)
            figures[f"sqlite_{label}_docs_per_cpu_s"] = len(posts) / (time.process_time() - cpu)
        figures["sqlite_bytes_per_post"] = (Path(tmp) / "bench.db").stat().st_size / len(posts)
        store.close()
    return figures


def bench_bulk_bodies(posts: list[AnalysedPost], tokenize: Callable[[str], list[str]]) -> dict[str, float]:
    names, thresholds = IndexNames(), Thresholds()
    mapping_version()  # fail early, as the store would, when es_mappings/ is missing
    started, cpu = time.perf_counter(), time.process_time()
    size = 0
    for item in posts:
        doc = post_document(item, tokenize, thresholds)
        size += len(bulk_lines(names.write_alias(month_of(item.post.published_at)), doc))
    return {
        "es_bulk_body_docs_per_s": len(posts) / (time.perf_counter() - started),
        "es_bulk_body_docs_per_cpu_s": len(posts) / (time.process_time() - cpu),
        "es_bulk_bytes_per_doc": size / len(posts),
    }


def bench_cluster(posts: list[AnalysedPost], tokenize: Callable[[str], list[str]], batch: int) -> dict[str, float]:
    import uuid

    from patrol.store.elastic import ElasticPostStore

    url = os.environ.get("PATROL_ES_URL")
    if not url:
        raise SystemExit("--es needs PATROL_ES_URL, e.g. http://elastic:<password>@localhost:9200")
    with tempfile.TemporaryDirectory() as tmp:
        store = ElasticPostStore.from_url(
            url,
            dead_letter_path=Path(tmp) / "dead-letter.jsonl",
            tokenize=tokenize,
            thresholds=Thresholds(),
            prefix=f"patrol-bench-{uuid.uuid4().hex[:8]}",
            refresh=False,
        )
        try:
            started = time.perf_counter()
            failed = sum(store.upsert(posts[o : o + batch]).failed for o in range(0, len(posts), batch))
            elapsed = time.perf_counter() - started
        finally:
            store.delete_prefix()
            store.close()
    return {"es_cluster_upsert_docs_per_s": len(posts) / elapsed, "es_cluster_failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000, help="posts to index")
    parser.add_argument("--batch", type=int, default=1000, help="posts per upsert call (a landing batch)")
    parser.add_argument("--es", action="store_true", help="also bulk-load into the cluster at PATROL_ES_URL")
    args = parser.parse_args()

    started = time.perf_counter()
    try:
        analysed, tokenize, corpus = analyse_demo(demo_posts(args.posts))
    except (ImportError, OSError) as exc:
        print(f"demo corpus unavailable ({exc}); using synthetic posts")
        analysed, tokenize, corpus = synthetic_posts(args.posts)
    prepare_s = time.perf_counter() - started

    figures: dict[str, Any] = {"posts": len(analysed), "corpus": corpus, "prepare_s": round(prepare_s, 1)}
    figures |= bench_sqlite(analysed, tokenize, args.batch)
    figures |= bench_bulk_bodies(analysed, tokenize)
    if args.es:
        figures |= bench_cluster(analysed, tokenize, args.batch)
    figures["machine"] = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
    figures["load_average_1m"] = os.getloadavg()[0]  # wall-clock figures shrink on a busy machine
    figures["sqlite_insert_posts_per_day"] = figures["sqlite_insert_docs_per_s"] * SECONDS_PER_DAY

    print(f"corpus: {corpus}; {len(analysed)} posts prepared in {prepare_s:.1f} s")
    print(f"load average: {figures['load_average_1m']:.1f} (posts/s is wall clock, posts/cpu-s is CPU time)")
    for label, key in (
        ("SQLite upsert, new posts", "sqlite_insert"),
        ("SQLite upsert, unchanged posts", "sqlite_unchanged"),
        ("ES bulk bodies (serialisation)", "es_bulk_body"),
    ):
        wall, cpu = figures[key + "_docs_per_s"], figures[key + "_docs_per_cpu_s"]
        print(f"{label:<32} {wall:>9,.0f} posts/s {cpu:>9,.0f} posts/cpu-s")
    print(f"{'SQLite file size':<32} {figures['sqlite_bytes_per_post']:>9,.0f} bytes/post")
    print(f"{'ES bulk body size':<32} {figures['es_bulk_bytes_per_doc']:>9,.0f} bytes/post")
    if args.es:
        print(
            f"{'ES cluster upserts':<32} {figures['es_cluster_upsert_docs_per_s']:>9,.0f} posts/s"
            f" ({figures['es_cluster_failed']} dead-lettered)"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
