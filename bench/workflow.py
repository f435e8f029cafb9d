"""Review-queue throughput: claims/s with concurrent reviewers, and queue-listing latency.

    python -m bench.workflow [--pg-url URL] [--items 5000] [--reviewers 8] [--claims 2000] [--listings 200]

For SQLite (a temporary file) and, when a URL is given or PATROL_TEST_PG_URL is set, PostgreSQL (a
temporary schema): seed `--items` open review items, time `--listings` requests of the first queue
page (50 items, life-safety first) through the API and through the service function, then let
`--reviewers` threads claim `--claims` items as fast as they can (each claim its own transaction,
with its audit row). Prints a table and writes bench/results/workflow.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from patrol.api.app import create_app
from patrol.api.context import ApiContext
from patrol.workflow import items as review
from patrol.workflow.actors import Actor, Role
from patrol.workflow.auth import issue_token
from patrol.workflow.clock import SystemClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.policy import WorkflowPolicy, load_workflow_policy
from patrol.workflow.testing import add_test_user, isolated_postgres_url, postgres_test_url, seed_review_items

RESULTS = Path(__file__).resolve().parent / "results" / "workflow.json"


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextmanager
def _database(backend: str, pg_url: str | None) -> Iterator[WorkflowDb]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = WorkflowDb(f"sqlite:///{Path(tmp) / 'workflow.db'}")
            yield db
            db.dispose()
        return
    assert pg_url is not None
    with isolated_postgres_url(pg_url) as url:
        db = WorkflowDb(url)
        yield db
        db.dispose()


def _listing_latency(db: WorkflowDb, policy: WorkflowPolicy, listings: int) -> dict[str, float]:
    clock = SystemClock()
    officer = Actor("bench-officer", Role.PATROL_OFFICER)
    with db.session() as s:
        user = add_test_user(s, "bench-officer", "patrol_officer", now=clock.now())
        token = issue_token(s, user, kind="bearer", now=clock.now()).token
    with tempfile.TemporaryDirectory() as evidence_dir:
        context = ApiContext(
            db=db,
            policy=policy,
            evidence=EvidenceStore(Path(evidence_dir), policy.evidence),
            clock=clock,
            hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        )
        api, service = [], []
        with TestClient(create_app(context)) as client:
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(listings):
                start = time.perf_counter()
                response = client.get("/api/v1/items?limit=50", headers=headers)
                api.append(time.perf_counter() - start)
                assert response.status_code == 200 and len(response.json()["items"]) == 50
        for _ in range(listings):
            start = time.perf_counter()
            with db.read_session() as s:
                page, total = review.list_queue(s, officer, now=clock.now(), limit=50)
            service.append(time.perf_counter() - start)
            assert len(page) == 50 and total > 0
    return {
        "api_p50_ms": statistics.median(api) * 1000,
        "api_p95_ms": _percentile(api, 0.95) * 1000,
        "service_p50_ms": statistics.median(service) * 1000,
        "service_p95_ms": _percentile(service, 0.95) * 1000,
    }


def _claims_per_second(db: WorkflowDb, policy: WorkflowPolicy, reviewers: int, claims: int) -> dict[str, float]:
    clock = SystemClock()
    remaining = [claims]
    lock = threading.Lock()
    latencies: list[float] = []
    claimed: list[str] = []
    start_line = threading.Barrier(reviewers + 1)

    def reviewer(name: str) -> None:
        actor = Actor(name, Role.PATROL_OFFICER)
        start_line.wait()
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            with db.session() as s:
                item = review.claim_next(s, policy, actor, now=clock.now())
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if item is not None:
                    claimed.append(item.id)

    threads = [threading.Thread(target=reviewer, args=(f"reviewer{n}",)) for n in range(reviewers)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if len(set(claimed)) != len(claimed):
        raise AssertionError("an item was claimed twice")
    return {
        "claims": len(claimed),
        "claims_per_s": len(claimed) / wall,
        "claim_p50_ms": statistics.median(latencies) * 1000,
        "claim_p95_ms": _percentile(latencies, 0.95) * 1000,
    }


def run_backend(backend: str, pg_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    policy = load_workflow_policy()
    with _database(backend, pg_url) as db:
        with db.session() as s:
            seed_review_items(s, args.items, now=SystemClock().now())
        figures: dict[str, Any] = {"backend": backend, "open_items": args.items, "reviewers": args.reviewers}
        figures |= _listing_latency(db, policy, args.listings)
        figures |= _claims_per_second(db, policy, args.reviewers, args.claims)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default=postgres_test_url(), help="PostgreSQL URL (default $PATROL_TEST_PG_URL)")
    parser.add_argument("--items", type=int, default=5000, help="open review items to seed")
    parser.add_argument("--reviewers", type=int, default=8, help="concurrent reviewer threads")
    parser.add_argument("--claims", type=int, default=2000, help="claims to make in total")
    parser.add_argument("--listings", type=int, default=200, help="queue listings to time")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.pg_url else [])
    results = [run_backend(b, args.pg_url, args) for b in backends]
    header = f"{'backend':<11} {'claims/s':>9} {'claim p95':>10} {'list p95 (API)':>15} {'list p95 (query)':>17}"
    print(header)
    for r in results:
        print(
            f"{r['backend']:<11} {r['claims_per_s']:>9.0f} {r['claim_p95_ms']:>8.1f}ms {r['api_p95_ms']:>13.1f}ms"
            f" {r['service_p95_ms']:>15.1f}ms"
        )
    if not args.pg_url:
        print("PostgreSQL skipped: pass --pg-url or set PATROL_TEST_PG_URL")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
