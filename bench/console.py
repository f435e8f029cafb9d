"""Console latency: p50/p95/p99 of the queue, item and search pages under load from loopback.

    python -m bench.console [--posts 100000] [--items 5000] [--concurrency 4] [--seconds 20]
    python -m bench.console --data-dir /tmp/console-bench   # keep (and on the next run reuse) the data

The posts are the demo site's forum floors analysed by the real NLP stage (`bench.index`), stored
in the SQLite store; `--items` of them become open review items (life-safety and others, each with
its evidence). The console runs in its own process (uvicorn, as `patrol serve` runs it, without the
worker); a load generator here keeps `--concurrency` logged-in officers requesting one kind of page
as fast as answers come, for `--seconds` each, after a warm-up. Every page is a full server render,
and every item view writes its audit row. The target is p95 < 300 ms. Prints a table and writes
bench/results/console.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

RESULTS = Path(__file__).resolve().parent / "results" / "console.json"
PASSWORD = "bench password 1"
TARGET_P95_MS = 300.0
PAGES = ("queue", "item", "search")
CPU_COLUMN = "server_cpu_ms_per_request"
SEARCH_WORDS = (
    "燃气",
    "小区",
    "哈尔滨",
    "物业",
    "停车",
    "香坊",
    "道里",
    "南岗",
    "学校",
    "出售",
    "今天",
    "地铁",
)


# -- data ---------------------------------------------------------------------------------------------


def prepare(data_dir: Path, posts: int, items: int) -> dict[str, Any]:
    """Store `posts` analysed posts and open `items` review items over them; accounts for the load."""
    from bench.index import analyse_demo, demo_posts
    from patrol.config import load_settings
    from patrol.schema import LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES
    from patrol.store.sqlite import SqlitePostStore
    from patrol.thresholds import load_thresholds
    from patrol.workflow.actors import SYSTEM
    from patrol.workflow.auth import create_user
    from patrol.workflow.db import WorkflowDb
    from patrol.workflow.flagging import review_item_id
    from patrol.workflow.models import ReviewItem, ReviewItemPost
    from patrol.workflow.policy import load_workflow_policy

    settings = load_settings(data_dir=data_dir)
    settings.ensure_dirs()
    started = time.perf_counter()
    analysed, tokenize, corpus = analyse_demo(demo_posts(posts))
    # Spread the floors over the last 30 days, so the console's time windows see them.
    now = datetime.now(UTC)
    spread = [
        a.model_copy(
            update={
                "post": a.post.model_copy(
                    update={
                        "published_at": now - timedelta(seconds=int(i * 30 * 86400 / len(analysed))),
                        "fetched_at": now,
                    }
                )
            }
        )
        for i, a in enumerate(analysed)
    ]
    analysis_s = time.perf_counter() - started
    store = SqlitePostStore(
        settings.sqlite_path, tokenize=tokenize, thresholds=load_thresholds(settings.thresholds_file)
    )
    started = time.perf_counter()
    for offset in range(0, len(spread), 2000):
        store.upsert(spread[offset : offset + 2000])
    store.close()
    store_s = time.perf_counter() - started

    rng = random.Random(11)
    chosen = rng.sample(spread, min(items, len(spread)))
    units = list(load_workflow_policy().units.ids())
    db = WorkflowDb(settings.workflow_url)
    started = time.perf_counter()
    with db.session() as session:
        for n, item in enumerate(chosen):
            scores = item.analysis.risk_scores
            category = (
                max(scores, key=lambda c: scores[c])
                if scores and max(scores.values()) > 0
                else (RISK_CATEGORIES[n % len(RISK_CATEGORIES)])
            )
            evidence = [e.model_dump() for e in item.analysis.evidence if e.category == category]
            item_id = review_item_id(category, item.post.id)
            session.add(
                ReviewItem(
                    id=item_id,
                    category=category,
                    status="new",
                    life_safety=category in LIFE_SAFETY_CATEGORIES,
                    max_score=max(0.5, scores.get(category, 0.0)),
                    first_post_id=item.post.id,
                    source_id=item.post.source_id,
                    jurisdiction=item.analysis.jurisdiction or units[n % len(units)],
                    post_count=1,
                    created_at=now - timedelta(seconds=n),
                    updated_at=now,
                    ack_due_at=now + timedelta(minutes=5) if category in LIFE_SAFETY_CATEGORIES else None,
                )
            )
            session.add(
                ReviewItemPost(
                    item_id=item_id,
                    post_id=item.post.id,
                    category=category,
                    source_id=item.post.source_id,
                    score=max(0.5, scores.get(category, 0.0)),
                    simhash=item.analysis.simhash,
                    evidence_json=json.dumps(evidence, ensure_ascii=False),
                    scorer=item.analysis.scorer,
                    added_at=now,
                )
            )
        for username in ("bench-officer",):
            create_user(
                session,
                SYSTEM,
                username=username,
                password=PASSWORD,
                role="patrol_officer",
                units=load_workflow_policy().units,
                now=now,
            )
    items_s = time.perf_counter() - started
    db.dispose()
    return {
        "posts": len(spread),
        "items": len(chosen),
        "corpus": corpus,
        "analysis_s": round(analysis_s, 1),
        "store_s": round(store_s, 1),
        "items_s": round(items_s, 1),
    }


def item_ids(data_dir: Path) -> list[str]:
    from sqlalchemy import select

    from patrol.config import load_settings
    from patrol.workflow.db import WorkflowDb
    from patrol.workflow.models import ReviewItem

    db = WorkflowDb(load_settings(data_dir=data_dir).workflow_url)
    with db.read_session() as session:
        ids = list(session.scalars(select(ReviewItem.id).where(ReviewItem.status == "new")))
    db.dispose()
    return ids


# -- the server ---------------------------------------------------------------------------------------


def serve(data_dir: Path, port: int) -> None:
    """Run the console as `patrol serve` does, without the worker (in the child process)."""
    import uvicorn

    from patrol.config import load_settings
    from patrol.web.app import create_console_app
    from patrol.web.build import build_console_context
    from patrol.web.text import PipelineTextReader

    context = build_console_context(load_settings(data_dir=data_dir), cookie_security="never")
    if isinstance(context.text_reader, PipelineTextReader):
        context.text_reader.tokenize_query("预热")  # load the dictionaries before the first search
    app = create_console_app(context)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.console", "--serve", str(data_dir), "--port", str(port)],
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return child, base
        except httpx.HTTPError:
            time.sleep(0.3)
    child.kill()
    raise RuntimeError("the console did not come up within 120 s")


# -- the load -----------------------------------------------------------------------------------------


async def logged_in_client(base: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = await client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token is not None
    answer = await client.post(
        "/login", data={"username": "bench-officer", "password": PASSWORD, "login_csrf": token.group(1)}
    )
    assert answer.status_code in (200, 303), answer.text[:300]
    return client


def url_for(page: str, rng: random.Random, ids: list[str]) -> str:
    if page == "queue":
        return rng.choice(
            [
                "/queue",
                "/queue",
                "/queue?view=life_safety",
                "/queue?category=public_hazard",
                "/queue?offset=200",
            ]
        )
    if page == "item":
        return f"/items/{rng.choice(ids)}"
    return f"/search?q={rng.choice(SEARCH_WORDS)}"


def server_cpu_s(pid: int) -> float:
    """CPU seconds the server process has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    base: str, page: str, ids: list[str], *, concurrency: int, seconds: float, warmup: int, server_pid: int
) -> dict[str, Any]:
    clients = [await logged_in_client(base) for _ in range(concurrency)]
    latencies: list[float] = []
    errors = 0
    rng = random.Random(page)
    for n in range(warmup):
        await clients[n % concurrency].get(url_for(page, rng, ids))
    stop_at = time.perf_counter() + seconds

    async def user(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await client.get(url_for(page, rng, ids))
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    started, cpu = time.perf_counter(), server_cpu_s(server_pid)
    await asyncio.gather(*(user(c) for c in clients))
    elapsed, cpu = time.perf_counter() - started, server_cpu_s(server_pid) - cpu
    for client in clients:
        await client.aclose()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {
        "requests": len(ordered),
        "errors": errors,
        "rps": round(len(ordered) / elapsed, 1),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
        CPU_COLUMN: round(cpu * 1000 / len(ordered), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=4, help="simultaneous logged-in officers")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per page kind")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, help="keep the data here (reused if it holds a run)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return

    with tempfile.TemporaryDirectory(prefix="console-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch) / "data"
        marker = data_dir / "bench-prepared.json"
        if marker.exists():
            prepared = json.loads(marker.read_text())
        else:
            prepared = prepare(data_dir, args.posts, args.items)
            marker.write_text(json.dumps(prepared))
        print(f"data: {prepared}", flush=True)
        ids = item_ids(data_dir)
        child, base = start_server(data_dir)
        load_before = os.getloadavg()
        try:
            results = {
                page: asyncio.run(
                    load(
                        base,
                        page,
                        ids,
                        concurrency=args.concurrency,
                        seconds=args.seconds,
                        warmup=args.warmup,
                        server_pid=child.pid,
                    )
                )
                for page in PAGES
            }
        finally:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=30)
    load_after = os.getloadavg()
    columns = ("requests", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors", CPU_COLUMN)
    print(f"{'page':8}" + "".join(f"{c.replace(CPU_COLUMN, 'cpu_ms/req'):>11}" for c in columns))
    for page, r in results.items():
        print(f"{page:8}" + "".join(f"{r[c]:>11}" for c in columns))
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; {os.cpu_count()} CPUs")
    worst = max(r["p95_ms"] for r in results.values())
    verdict = "within" if worst < TARGET_P95_MS else "OVER"
    print(f"worst p95 {worst:.1f} ms: {verdict} the {TARGET_P95_MS:.0f} ms target")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "data": prepared,
                "concurrency": args.concurrency,
                "seconds_per_page": args.seconds,
                "pages": results,
                "target_p95_ms": TARGET_P95_MS,
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
