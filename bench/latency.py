"""Alert latency in continuous mode: from a risky post appearing on the demo site to its review item.

    .venv/bin/python -m bench.latency                    # 10 minutes, sources every 60 s
    .venv/bin/python -m bench.latency --minutes 2 --interval 30 --period 3

Starts the demo site in this process and `patrol run --interval` (the real continuous mode, its
own process) against it; waits until both sources had their first turn (the initial full crawl),
then adds a post every `--period` seconds for `--minutes`: in turn a life-safety post
(violence_threat, self_harm), a benign one, another risky one (fraud, public_hazard, weapons,
drugs), alternating between the forum (new threads and replies) and the weibo timelines.

Latency is measured from the moment a post is added to the moment its review-item link row
commits (`review_item_posts.added_at`, same clock). The resident memory of the patrol process
is sampled every 10 s. Writes `bench/results/latency.json` and prints p50/p95 per class, the
target check (life-safety p95 below one crawl interval plus 30 s) and the memory trend.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.corpus.risky import risky_of
from demo.places import load_places
from demo.server import DemoSite
from demo.template import SlotFiller
from patrol.demo_sources import write_demo_sources
from patrol.ops.metrics import sample_values
from patrol.ops.procs import descendants, rss_bytes
from patrol.ops.scheduler import read_status
from patrol.ops.testing import FAST_DEMO_CRAWL, scrapy_args
from patrol.schema import LIFE_SAFETY_CATEGORIES
from patrol.workflow.testing import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "bench" / "results" / "latency.json"
OTHER_RISKY = ("fraud", "public_hazard", "weapons", "drugs")
BENIGN = (
    "今天早上{street}有点堵，大家出门早点走",
    "{community}楼下新开了一家{food}馆子，味道还行",
    "请问{district}哪里有靠谱的修车铺？",
)


@dataclass
class Appeared:
    post_id: str
    category: str
    life_safety: bool
    source: str
    at: float  # Unix seconds
    flagged_at: float | None = None

    @property
    def latency_s(self) -> float | None:
        return None if self.flagged_at is None else self.flagged_at - self.at


@dataclass
class Run:
    posts: list[Appeared] = field(default_factory=list)
    memory: list[tuple[float, float, float]] = field(default_factory=list)  # (t, patrol MB, crawls MB)


class Poster:
    """Adds posts in turn: life-safety, benign, other risky; forum and weibo alternate."""

    def __init__(self, site: DemoSite, seed: int) -> None:
        self.site = site
        self.rng = random.Random(seed)
        self.filler = SlotFiller(load_places(), self.rng)
        self.turn = 0

    def post_one(self) -> Appeared | None:
        kind = ("life_safety", "benign", "risky")[self.turn % 3]
        on_forum = (self.turn // 3) % 2 == 0 if kind != "benign" else self.turn % 2 == 0
        self.turn += 1
        if kind == "benign":
            category, text, title = "none", self.filler.fill(self.rng.choice(BENIGN)), "随便聊聊"
        else:
            category = self.rng.choice(
                sorted(LIFE_SAFETY_CATEGORIES) if kind == "life_safety" else OTHER_RISKY
            )
            template = self.rng.choice(risky_of(category))
            text, title = self.filler.fill_all([template.text, template.title or "求助"])
        now = time.time()
        if on_forum:
            boards = [b.fid for b in self.site.content.boards]
            if self.rng.random() < 0.5:
                tid = self.site.add_thread(self.rng.choice(boards), title, text, label=category)
                pid = self.site.state.thread(tid).floors[0].pid  # type: ignore[union-attr]
            else:
                tid = self.rng.randint(1, self.site.content.threads)
                pid = int(self.site.add_reply(tid, text, label=category))
            post_id, source = f"demo-forum:{pid}", "forum"
        else:
            residents = [a for a in self.site.content.weibo_accounts if a.kind == "citizen"]
            account = self.rng.choice(residents or list(self.site.content.weibo_accounts))
            post_id, source = f"demo-weibo:{self.site.add_weibo(account.uid, text, label=category)}", "weibo"
        if category == "none":
            return None
        return Appeared(post_id, category, category in LIFE_SAFETY_CATEGORIES, source, now)


def _flagged_times(db: Path, post_ids: list[str]) -> dict[str, float]:
    if not post_ids or not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        marks = ",".join("?" for _ in post_ids)
        rows = conn.execute(
            "SELECT post_id, min(added_at) FROM review_item_posts"
            f" WHERE post_id IN ({marks}) GROUP BY post_id",
            post_ids,
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    times = {}
    for post_id, added in rows:
        moment = datetime.fromisoformat(added)
        times[post_id] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return times


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 2)


def _summary(posts: list[Appeared]) -> dict[str, Any]:
    latencies = [p.latency_s for p in posts if p.latency_s is not None]
    return {
        "posts": len(posts),
        "flagged": len(latencies),
        "p50_s": _percentile(latencies, 0.5),
        "p95_s": _percentile(latencies, 0.95),
        "max_s": round(max(latencies), 2) if latencies else None,
        "mean_s": round(statistics.fmean(latencies), 2) if latencies else None,
    }


def _slope_mb_per_min(samples: list[tuple[float, float, float]]) -> float | None:
    if len(samples) < 3:
        return None
    xs = [t / 60 for t, _, _ in samples]
    ys = [mb for _, mb, _ in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var, 3) if var else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long new posts keep appearing")
    parser.add_argument("--interval", type=int, default=60, help="each source's crawl interval, seconds")
    parser.add_argument("--period", type=float, default=5.0, help="seconds between two new posts")
    parser.add_argument("--threads", type=int, default=30, help="forum threads on the demo site")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "data" / "bench-latency")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    shutil.rmtree(args.data_dir, ignore_errors=True)
    run = Run()
    with DemoSite(seed=11, threads=args.threads) as site:
        sources_file = write_demo_sources(args.data_dir / "sources.yaml", site.base_url, site.content)
        document = yaml.safe_load(sources_file.read_text(encoding="utf-8"))
        for entry in document["sources"]:
            entry["interval_s"] = args.interval
        sources_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        port = free_port()
        settings = {k: v for k, v in FAST_DEMO_CRAWL.items() if k != "PATROL_BATCH_MAX_ITEMS"}
        command = [sys.executable, "-m", "patrol.commands.ops", "run", "--interval", str(args.interval)]
        command += [
            "--metrics-port",
            str(port),
            "--data-dir",
            str(args.data_dir),
            "--sources",
            str(sources_file),
        ]
        command += scrapy_args(settings)
        log_path = args.data_dir / "patrol.log"
        with log_path.open("w", encoding="utf-8") as log:
            patrol = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=log, text=True)
            try:
                metrics = _measure(args, site, patrol, port, run)
            finally:
                patrol.send_signal(signal.SIGTERM)
                try:
                    patrol.wait(timeout=180)
                except subprocess.TimeoutExpired:
                    patrol.kill()
    return _report(args, run, metrics)


def _measure(
    args: argparse.Namespace, site: DemoSite, patrol: subprocess.Popen[str], port: int, run: Run
) -> bytes:
    """Post, poll for review items and sample memory; returns the patrol's metrics at the end."""
    db = args.data_dir / "patrol.db"
    print(f"waiting for the first turn of every source (initial crawl of {site.content.threads} threads)...")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        status = read_status(args.data_dir)
        if status and all(h.turns >= 1 for h in status):
            break
        if patrol.poll() is not None:
            raise SystemExit(f"patrol exited with {patrol.returncode}; see {args.data_dir / 'patrol.log'}")
        time.sleep(1)
    start = time.time()
    poster = Poster(site, seed=5)
    stop_posting = threading.Event()
    outstanding: dict[str, Appeared] = {}
    lock = threading.Lock()

    def post_loop() -> None:
        next_at = time.monotonic()
        while not stop_posting.is_set():
            appeared = poster.post_one()
            if appeared is not None:
                with lock:
                    run.posts.append(appeared)
                    outstanding[appeared.post_id] = appeared
            next_at += args.period
            stop_posting.wait(max(0.0, next_at - time.monotonic()))

    posting = threading.Thread(target=post_loop, daemon=True)
    posting.start()
    print(f"posting every {args.period} s for {args.minutes} min; crawl interval {args.interval} s")
    end_posting = start + args.minutes * 60
    last_sample = 0.0
    grace_end = None
    while True:
        now = time.time()
        if now >= end_posting and not stop_posting.is_set():
            stop_posting.set()
            grace_end = now + args.interval + 90
        if now - last_sample >= 10:
            last_sample = now
            mine = (rss_bytes(patrol.pid) or 0) / 2**20
            crawls = sum((rss_bytes(pid) or 0) for pid in descendants(patrol.pid)) / 2**20
            run.memory.append((round(now - start, 1), round(mine, 1), round(crawls, 1)))
        with lock:
            waiting = list(outstanding)
        for post_id, flagged in _flagged_times(db, waiting).items():
            with lock:
                outstanding.pop(post_id).flagged_at = flagged
        if grace_end is not None and (not outstanding or now >= grace_end):
            break
        if patrol.poll() is not None:
            raise SystemExit(f"patrol exited with {patrol.returncode}; see {args.data_dir / 'patrol.log'}")
        time.sleep(0.5)
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).content
    except httpx.HTTPError:
        return b""


def _report(args: argparse.Namespace, run: Run, port_metrics: bytes) -> int:
    life = [p for p in run.posts if p.life_safety]
    other = [p for p in run.posts if not p.life_safety]
    target = args.interval + 30
    memory = run.memory
    half = memory[len(memory) // 2 :]
    passes = sum(v for _, v in sample_values(port_metrics, "patrol_passes_total")) if port_metrics else None
    crawl = {
        labels["source"]: v
        for labels, v in sample_values(port_metrics, "patrol_stage_duration_seconds_sum")
        if labels.get("stage") == "crawl"
    }
    crawls = {
        labels["source"]: v
        for labels, v in sample_values(port_metrics, "patrol_stage_duration_seconds_count")
        if labels.get("stage") == "crawl"
    }
    memory_summary: dict[str, Any] = {
        "samples": len(memory),
        "start": memory[0][1] if memory else None,
        "end": memory[-1][1] if memory else None,
        "max": max(m[1] for m in memory) if memory else None,
        "slope_mb_per_min_second_half": _slope_mb_per_min(half),
    }
    life_summary = _summary(life)
    result: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)},
        "settings": {
            "minutes": args.minutes,
            "interval_s": args.interval,
            "period_s": args.period,
            "threads": args.threads,
        },
        "life_safety": life_summary,
        "other_risky": _summary(other),
        "target": {"life_safety_p95_below_s": target, "met": (life_summary["p95_s"] or 1e9) < target},
        "memory_mb": memory_summary,
        "passes": passes,
        "mean_crawl_s": {src: round(crawl[src] / crawls[src], 2) for src in crawl if crawls.get(src)},
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    result["memory_mb"] = memory_summary | {"series": memory}
    result["posts"] = [asdict(p) for p in run.posts]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written to {args.out}")
    return 0 if result["target"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
