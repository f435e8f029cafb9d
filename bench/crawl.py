"""Crawler throughput against the demo site, next to `scrapy bench` on the same machine, and the
crawl's memory on a large forum.

    python -m bench.crawl [--threads 1500] [--large-threads 6000] [--bench-seconds 20]

1. `scrapy bench` (Scrapy's own link-following spider on its local server, no pipelines), run
   outside this project so none of our settings apply: its steady pages/min.
2. Our discuz spider on the demo site (`--threads` threads, GBK pages, a separate server process
   like scrapy bench's) with our pipelines and extensions on (landing batches, state, crawl report)
   and politeness off (no delay, no AutoThrottle, scrapy bench's concurrency of 16): pages/min,
   items/min, and the ratio to scrapy bench.
3. The same spider on a `--large-threads` forum, sampling the crawl process's resident memory as
   it goes: peak RSS and RSS against pages crawled (the trend says what 50k pages would take).

Prints the figures and writes them to bench/results/crawl.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawlers.run import REPO_ROOT, crawl_command
from crawlers.sources import load_sources
from patrol.schema import CrawlReport

RESULTS = REPO_ROOT / "bench" / "results" / "crawl.json"
#: Scrapy bench's concurrency (its defaults), so the comparison is like for like.
FAIR_SETTINGS: dict[str, str | int | float] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "RETRY_BACKOFF_BASE": 0,
    "LOGSTATS_INTERVAL": 2,
    "LOG_LEVEL": "INFO",
    # The demo's biggest board runs past the endless-pagination guard (500 list pages) on large forums.
    "PATROL_MAX_PAGINATION": 1_000_000,
}
_PAGES_PER_MIN = re.compile(r"Crawled (\d+) pages \(at (\d+) pages/min\)")


@dataclass
class CrawlRun:
    report: CrawlReport
    seconds: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (elapsed s, RSS MiB)
    progress: list[tuple[float, int]] = field(default_factory=list)  # (elapsed s, pages crawled)
    peak_mib: float = 0.0


def scrapy_bench(seconds: int) -> dict[str, Any]:
    """`scrapy bench` outside any project: pages/min over its whole run, from its closing stats."""
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "bench",
                "-s",
                f"CLOSESPIDER_TIMEOUT={seconds}",
                "-s",
                "LOGSTATS_INTERVAL=2",
            ],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
    output = done.stdout + done.stderr
    rates = [int(rate) for _, rate in _PAGES_PER_MIN.findall(output)]
    # Whole-run average from its closing stats, measured the way ours is (spider open to close).
    received = re.search(r"'response_received_count': (\d+)", output)
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", output)
    pages = int(received.group(1)) if received else 0
    took = float(elapsed.group(1)) if elapsed else 0.0
    return {
        "seconds": round(took, 1),
        "pages": pages,
        "pages_per_min": round(pages * 60 / took) if took else 0,
        "rates_logged": rates,
    }


def _serve_demo(threads: int, ready: Any, stop: Any) -> None:
    from demo.server import DemoSite

    with DemoSite(seed=7, threads=threads) as site:
        ready.put(site.base_url)
        stop.wait()


def _rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


def crawl_demo(threads: int, workdir: Path, *, sample_every: float = 1.0) -> CrawlRun:
    """Crawl a demo forum of `threads` threads (served by another process) and watch the crawl process."""
    ready: Any = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve_demo, args=(threads, ready, stop), daemon=True)
    server.start()
    try:
        base_url = ready.get(timeout=300)
        workdir.mkdir(parents=True, exist_ok=True)
        sources_file = workdir / f"sources-{threads}.yaml"
        entry = {
            "id": f"demo{threads}",
            "kind": "discuz",
            "start_urls": [f"{base_url}/forum.php"],
            "max_pages": 1_000_000,
        }
        sources_file.write_text(json.dumps({"sources": [entry]}), encoding="utf-8")
        source = load_sources(sources_file)[0]
        data_dir = workdir / "data"
        command = crawl_command(
            source, pass_id=f"bench{threads}", data_dir=data_dir, sources_file=sources_file, settings=FAIR_SETTINGS
        )
        env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawlers.settings", PYTHONPATH=str(REPO_ROOT))
        log_path = workdir / f"crawl-{threads}.log"
        samples: list[tuple[float, float]] = []
        start = time.perf_counter()
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            while process.poll() is None:
                rss = _rss_mib(process.pid)
                if rss is not None:
                    samples.append((round(time.perf_counter() - start, 1), round(rss, 1)))
                time.sleep(sample_every)
        report_file = data_dir / "reports" / f"bench{threads}" / f"{source.id}.json"
        run = CrawlRun(
            report=CrawlReport.model_validate_json(report_file.read_text(encoding="utf-8")),
            seconds=time.perf_counter() - start,
            samples=samples,
            peak_mib=max((rss for _, rss in samples), default=0.0),
        )
        # LOGSTATS lines give pages crawled over time; their timestamps are the crawl's own clock.
        lines = [
            line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if "Crawled" in line
        ]
        first_stamp = None
        for line in lines:
            stamp = re.match(r"(\S+)", line)
            pages = _PAGES_PER_MIN.search(line)
            if stamp and pages:
                moment = time.mktime(time.strptime(stamp.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
                first_stamp = first_stamp or moment
                run.progress.append((moment - first_stamp, int(pages.group(1))))
        return run
    finally:
        stop.set()
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()


def _per_min(count: int, report: CrawlReport) -> float:
    assert report.finished_at is not None
    seconds = (report.finished_at - report.started_at).total_seconds()
    return round(count * 60 / seconds, 1) if seconds > 0 else 0.0


def memory_trend(run: CrawlRun) -> list[dict[str, float]]:
    """RSS at points of the crawl, against the pages crawled by then (from the crawl's progress log)."""
    if not run.progress:
        return []
    trend = []
    for elapsed, rss in run.samples[:: max(1, len(run.samples) // 12)]:
        pages = max((p for t, p in run.progress if t <= elapsed), default=0)
        trend.append({"elapsed_s": elapsed, "pages": pages, "rss_mib": rss})
    return trend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1500, help="demo threads for the throughput run")
    parser.add_argument("--large-threads", type=int, default=6000, help="demo threads for the memory run (0: skip)")
    parser.add_argument("--bench-seconds", type=int, default=20, help="how long scrapy bench runs")
    args = parser.parse_args(argv)

    print(f"scrapy bench for {args.bench_seconds}s ...", flush=True)
    baseline = scrapy_bench(args.bench_seconds)
    print(f"  scrapy bench: {baseline['pages_per_min']} pages/min (logged rates {baseline['rates_logged']})")

    with tempfile.TemporaryDirectory() as tmp:
        print(f"our discuz spider on a {args.threads}-thread demo forum ...", flush=True)
        ours = crawl_demo(args.threads, Path(tmp) / "throughput")
        pages_per_min = _per_min(ours.report.pages, ours.report)
        items_per_min = _per_min(ours.report.items, ours.report)
        ratio = round(pages_per_min / baseline["pages_per_min"], 3) if baseline["pages_per_min"] else None
        print(
            f"  ours: {ours.report.pages} pages, {ours.report.items} items in "
            f"{(ours.report.finished_at - ours.report.started_at).total_seconds():.1f}s "  # type: ignore[operator]
            f"-> {pages_per_min} pages/min, {items_per_min} items/min; ratio to scrapy bench {ratio}; "
            f"peak RSS {ours.peak_mib:.0f} MiB"
        )
        large: dict[str, Any] = {}
        if args.large_threads:
            print(f"memory on a {args.large_threads}-thread demo forum ...", flush=True)
            big = crawl_demo(args.large_threads, Path(tmp) / "large")
            trend = memory_trend(big)
            large = {
                "threads": args.large_threads,
                "pages": big.report.pages,
                "items": big.report.items,
                "seconds": round(big.seconds, 1),
                "pages_per_min": _per_min(big.report.pages, big.report),
                "peak_rss_mib": round(big.peak_mib, 1),
                "trend": trend,
            }
            print(f"  {big.report.pages} pages in {big.seconds:.0f}s; peak RSS {big.peak_mib:.0f} MiB")
            for point in trend:
                print(f"    t={point['elapsed_s']:6.1f}s pages={point['pages']:6} rss={point['rss_mib']:6.1f} MiB")

    figures = {
        "machine": {"cpus": os.cpu_count()},
        "scrapy_bench": baseline,
        "ours": {
            "threads": args.threads,
            "pages": ours.report.pages,
            "items": ours.report.items,
            "pages_per_min": pages_per_min,
            "items_per_min": items_per_min,
            "ratio_to_scrapy_bench": ratio,
            "peak_rss_mib": round(ours.peak_mib, 1),
            "settings": FAIR_SETTINGS,
        },
        "large": large,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
