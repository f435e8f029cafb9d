"""Continuous mode against the demo site: SIGTERM ends it cleanly, a failing source backs off and is
reported while the others go on, and a source another process works is left alone."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from crawlers.sources import load_sources
from demo.server import DemoSite
from patrol.config import load_settings
from patrol.demo_sources import write_demo_sources
from patrol.ledger import batch_id_of
from patrol.ops.backoff import BackoffPolicy
from patrol.ops.locks import lock_holder
from patrol.ops.metrics import PatrolMetrics, sample_values
from patrol.ops.passrun import PassRunner
from patrol.ops.scheduler import ContinuousScheduler, read_status
from patrol.ops.testing import FAST_DEMO_CRAWL, scrapy_args
from patrol.runtime import Runtime
from patrol.stages import crawl_source, process_batch
from patrol.workflow.testing import free_port

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(seed=7, threads=10) as running:
        yield running


def _wait(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_sigterm_finishes_the_stage_and_exits_cleanly(site: DemoSite, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    sources_file = write_demo_sources(data_dir / "sources.yaml", site.base_url, site.content)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "patrol.commands.ops",
        "run",
        "--interval",
        "30",
        "--metrics-port",
        str(port),
    ]
    command += ["--data-dir", str(data_dir), "--sources", str(sources_file), *scrapy_args(FAST_DEMO_CRAWL)]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(ready, 120, "/readyz to answer 200")
        _wait(lambda: lock_holder(data_dir, "demo-forum") is not None, 120, "the forum crawl to start")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "stop signal: finishing the current stage, then exiting" in names
    assert names[-1] == "continuous mode stopped"
    crawls = [e for e in events if e["event"] == "crawl done"]
    assert crawls and all(e.get("pass_id") and e.get("source_id") for e in crawls)
    assert not list((data_dir / "landing").rglob("*.tmp")), "a stopped crawl lands what it has"
    assert lock_holder(data_dir, "demo-forum") is None and lock_holder(data_dir, "demo-weibo") is None
    # whatever the stop left pending, the next start finishes; nothing is lost
    runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
    try:
        PassRunner(runtime, scrapy_settings=FAST_DEMO_CRAWL).run_pass(load_sources(sources_file))
        assert runtime.ledger.pending() == []
        assert runtime.store.count() == len(site.truth())
    finally:
        runtime.close()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_failing_source_backs_off_and_is_reported_while_others_go_on(site: DemoSite, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    sources_file = write_demo_sources(data_dir / "sources.yaml", site.base_url, site.content)
    document = yaml.safe_load(sources_file.read_text(encoding="utf-8"))
    forum = next(s for s in document["sources"] if s["id"] == "demo-forum")
    forum["interval_s"] = 2
    document["sources"] = [
        forum,
        {
            "id": "dead-forum",
            "kind": "discuz",
            "interval_s": 1,
            "start_urls": [f"http://127.0.0.1:{free_port()}/forum.php"],
        },
    ]
    sources_file.write_text(yaml.safe_dump(document), encoding="utf-8")
    runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
    metrics = PatrolMetrics()
    runner = PassRunner(runtime, scrapy_settings=FAST_DEMO_CRAWL, metrics=metrics)
    scheduler = ContinuousScheduler(
        runner, sources_file, default_interval_s=60, backoff=BackoffPolicy(report_after=2)
    )
    records = _Records()
    logging.getLogger("patrol.ops.scheduler").addHandler(records)

    def enough() -> bool:
        health = {h.source_id: h for h in scheduler.health()}
        return health["dead-forum"].consecutive_failures >= 3 and health["demo-forum"].turns >= 3

    deadline = time.monotonic() + 240
    try:
        scheduler.run(until=lambda: enough() or time.monotonic() > deadline)
    finally:
        logging.getLogger("patrol.ops.scheduler").removeHandler(records)
        runtime.close()
    assert enough()
    status = {h.source_id: h for h in read_status(data_dir)}
    dead, good = status["dead-forum"], status["demo-forum"]
    assert dead.failing and dead.consecutive_failures >= 3 and dead.last_success_at is None
    assert dead.last_error
    assert good.consecutive_failures == 0 and good.turns >= 3 and not good.failing
    waits = [
        r.__dict__["retry_in_s"]
        for r in records.records
        if r.getMessage().startswith("source ")
        and getattr(r, "source_id", None) == "dead-forum"
        and "retry_in_s" in r.__dict__
    ]
    assert waits[:3] == sorted(waits[:3]) and waits[2] > waits[0], f"the waits must grow: {waits}"
    assert any(
        r.levelno == logging.ERROR and r.getMessage() == "source keeps failing; backing off"
        for r in records.records
    )
    exposition = metrics.exposition()
    failures = dict(
        (s["source"], v) for s, v in sample_values(exposition, "patrol_source_consecutive_failures")
    )
    assert failures["dead-forum"] >= 3 and failures["demo-forum"] == 0


def _hold_lock(data_dir: Path, source_id: str) -> subprocess.Popen[str]:
    code = f"""
        import time
        from pathlib import Path
        from patrol.ops.locks import source_lock
        with source_lock(Path({str(data_dir)!r}), {source_id!r}, purpose="airflow task crawl"):
            print("held", flush=True)
            time.sleep(120)
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_source_held_by_another_process_is_left_alone(site: DemoSite, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    sources_file = write_demo_sources(data_dir / "sources.yaml", site.base_url, site.content)
    forum = next(s for s in load_sources(sources_file) if s.id == "demo-forum")
    runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
    try:
        landing = data_dir / "landing" / "demo-forum" / "other-0001.jsonl"
        landing.parent.mkdir(parents=True)
        landing.write_text("", encoding="utf-8")
        holder = _hold_lock(data_dir, "demo-forum")
        try:
            before = site.count_requests("/forum.php")
            report = crawl_source(runtime, forum, "p-locked", scrapy_settings=FAST_DEMO_CRAWL)
            assert not report.ok and [e.kind for e in report.errors] == ["locked"]
            assert "airflow task crawl" in report.errors[0].message
            assert site.count_requests("/forum.php") == before, "a locked source must not be crawled"
            assert process_batch(runtime, landing).skipped
            assert runtime.ledger.get(batch_id_of(landing)) is not None and runtime.ledger.pending()
        finally:
            holder.kill()
            holder.wait()
        assert crawl_source(runtime, forum, "p-free", scrapy_settings=FAST_DEMO_CRAWL).ok
        assert not process_batch(runtime, landing).skipped
    finally:
        runtime.close()


def test_two_passes_at_once_store_everything_once(site: DemoSite, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    sources_file = write_demo_sources(data_dir / "sources.yaml", site.base_url, site.content)
    command = [
        sys.executable,
        "-m",
        "patrol.commands.ops",
        "run",
        "--once",
        "--json",
        "--data-dir",
        str(data_dir),
    ]
    command += ["--sources", str(sources_file), *scrapy_args(FAST_DEMO_CRAWL)]
    passes = [
        subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in passes]
    assert [p.returncode for p in passes] == [0, 0], [err[-2000:] for _, err in outputs]
    summaries = [json.loads(out) for out, _ in outputs]
    for source_id in ("demo-forum", "demo-weibo"):
        runs = [s for summary in summaries for s in summary["sources"] if s["id"] == source_id]
        assert any(r["ok"] for r in runs), f"{source_id} was crawled by neither pass"
        assert all(r["ok"] or [e["kind"] for e in r["errors"]] == ["locked"] for r in runs)
    runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
    try:
        PassRunner(runtime).sweep()  # batches a pass skipped because the other held the source
        assert runtime.ledger.pending() == []
        assert runtime.store.count() == len(site.truth())
        assert sum(s["new_posts"] for s in summaries) <= len(site.truth())
    finally:
        runtime.close()
