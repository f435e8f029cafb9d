"""End-to-end throughput on the demo site: crawl, analyse, index and flag, posts/s for each.

    python -m bench.e2e [--threads 300]

Prints one line per stage and writes the figures as JSON to bench/results/e2e.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from crawlers.sources import load_sources
from demo.server import DemoSite
from patrol.config import load_settings
from patrol.demo_sources import write_demo_sources
from patrol.runtime import Runtime
from patrol.stages import analyse_batch, crawl_source, discover_landing_batches, flag_batch, index_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=300, help="forum threads on the demo site")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoSite(threads=args.threads) as site:
        data_dir = Path(tmp)
        sources_file = write_demo_sources(data_dir / "sources.yaml", site.base_url, site.content)
        runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
        timings: dict[str, float] = {}

        start = time.perf_counter()
        reports = [crawl_source(runtime, s, "bench") for s in load_sources(sources_file)]
        timings["crawl"] = time.perf_counter() - start
        posts = sum(r.items for r in reports)
        pages = sum(r.pages for r in reports)

        batches = discover_landing_batches(runtime)
        runtime.nlp.analyse([])  # load dictionaries and models outside the timed part
        start = time.perf_counter()
        analysed = [analyse_batch(runtime, b) for b in batches]
        timings["analyse"] = time.perf_counter() - start
        start = time.perf_counter()
        for path in analysed:
            index_batch(runtime, path)
        timings["index"] = time.perf_counter() - start
        start = time.perf_counter()
        for path in analysed:
            flag_batch(runtime, path)  # review items and scheme matches
        timings["flag"] = time.perf_counter() - start
        runtime.close()

    figures = {
        "threads": args.threads,
        "pages": pages,
        "posts": posts,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "posts_per_s": {k: round(posts / v, 1) for k, v in timings.items() if v > 0},
        "pages_per_min_crawl": round(pages / timings["crawl"] * 60, 1),
    }
    for stage, seconds in timings.items():
        print(f"{stage:8s} {seconds:8.2f} s  {posts / seconds:10.1f} posts/s")
    print(f"crawl    {figures['pages_per_min_crawl']:.0f} pages/min over {pages} pages")
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "e2e.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
