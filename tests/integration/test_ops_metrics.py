"""The Prometheus endpoint, scraped over HTTP after a real pass, says what the pass did; /healthz and
/readyz answer for a worker and for a FastAPI app (the console)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from crawlers.sources import load_sources
from demo.server import DemoSite
from patrol.config import load_settings
from patrol.demo_sources import write_demo_sources
from patrol.ops.health import (
    HealthProbe,
    database_check,
    ops_router,
    scheduler_checks,
    service_router,
    standard_checks,
)
from patrol.ops.http import OpsHttpServer
from patrol.ops.metrics import PatrolMetrics, PipelineStateCollector, sample_values
from patrol.ops.passrun import PassRunner
from patrol.ops.testing import FAST_DEMO_CRAWL
from patrol.passes import PassSummary
from patrol.runtime import Runtime
from patrol.schema import utcnow
from patrol.workflow.actors import Actor, Role
from patrol.workflow.db import WorkflowDb
from patrol.workflow.items import claim_item, escalate_item
from patrol.workflow.models import OutboxEvent, ReviewItem
from patrol.workflow.outbox import add_channel
from patrol.workflow.policy import load_workflow_policy
from patrol.workflow.sla import detect_breaches
from patrol.workflow.testing import add_test_user, free_port


def _total(exposition: bytes, name: str, **labels: str) -> float:
    return sum(
        v for found, v in sample_values(exposition, name) if all(found.get(k) == w for k, w in labels.items())
    )


@pytest.fixture(scope="module")
def passed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Runtime, PatrolMetrics, PassSummary, dict[str, int]]]:
    data_dir = tmp_path_factory.mktemp("metrics") / "data"
    with DemoSite(seed=7, threads=6) as site:
        sources_file = write_demo_sources(data_dir / "sources.yaml", site.base_url, site.content)
        runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
        with runtime.workflow.session() as session:
            # A receiver that is down: the life-safety pages stay in the backlog.
            add_channel(
                session,
                name="pager",
                kind="webhook",
                topics=["item.*"],
                at=utcnow(),
                config={"url": f"http://127.0.0.1:{free_port()}/hook", "secret": "metrics-test-secret"},
            )
        metrics = PatrolMetrics()
        metrics.add_state_collector(PipelineStateCollector(runtime.settings.sqlite_path, runtime.workflow))
        summary = PassRunner(runtime, scrapy_settings=FAST_DEMO_CRAWL, metrics=metrics).run_pass(
            load_sources(sources_file)
        )
    policy = load_workflow_policy()
    now = utcnow()
    with runtime.workflow.session() as session:
        add_test_user(session, "li.sup", Role.REVIEWER.value, now=now)
        item = session.scalars(select(ReviewItem).where(ReviewItem.life_safety.is_(False)).limit(1)).one()
        supervisor = Actor("li.sup", Role.REVIEWER)
        claim_item(session, policy, supervisor, item.id, now=now)
        escalate_item(session, policy, supervisor, item.id, now=now, unit="xf-heping")
    with runtime.workflow.session() as session:
        breaches = detect_breaches(session, policy, now=now + timedelta(days=3))
    with runtime.workflow.read_session() as session:
        topics = session.scalars(select(OutboxEvent.topic)).all()
    counts = {
        "breaches": len(breaches),
        "pages": topics.count("item.life_safety"),
        "item_events": sum(t.startswith("item.") for t in topics),
    }
    yield runtime, metrics, summary, counts
    runtime.close()


@pytest.mark.slow
def test_metrics_endpoint_matches_the_pass(
    passed: tuple[Runtime, PatrolMetrics, PassSummary, dict[str, int]],
) -> None:
    runtime, metrics, summary, extra = passed
    probe = HealthProbe(standard_checks(runtime.settings, runtime.workflow))
    with OpsHttpServer(probe, metrics.exposition) as server:
        response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    body = response.content
    assert summary.sources and all(s.ok for s in summary.sources)
    for source in summary.sources:
        assert _total(body, "patrol_items_total", source=source.id, kind="crawled") == source.items
        assert _total(body, "patrol_stage_duration_seconds_count", stage="crawl", source=source.id) == 1
    assert _total(body, "patrol_items_total", kind="new_posts") == summary.new_posts == summary.posts
    assert _total(body, "patrol_items_total", kind="new_review_items") == summary.new_flags == summary.flags
    assert _total(body, "patrol_stage_duration_seconds_count", stage="analyse") == summary.batches
    assert _total(body, "patrol_stage_duration_seconds_count", stage="flag") == summary.batches
    assert _total(body, "patrol_pass_duration_seconds_count") == 1
    assert _total(body, "patrol_passes_total", outcome="ok") == 1
    assert _total(body, "patrol_errors_total") == summary.errors == 0
    # read from the databases at scrape time
    assert _total(body, "patrol_state_up") == 1
    assert _total(body, "patrol_posts_stored") == summary.posts
    assert _total(body, "patrol_pending_batches") == 0
    assert _total(body, "patrol_review_queue_items") == summary.flags - 1  # one was escalated
    life_safety = summary.flags_by_category.get("self_harm", 0) + summary.flags_by_category.get(
        "violence_threat", 0
    )
    assert _total(body, "patrol_review_queue_items", life_safety="true") == life_safety > 0
    assert _total(body, "patrol_open_tasks", status="assigned") == 1
    assert _total(body, "patrol_sla_breaches") == extra["breaches"] > 0
    # the pager channel takes item.* events: the life-safety pages and their missed acknowledgements
    assert extra["pages"] == life_safety
    assert _total(body, "patrol_notification_backlog", status="pending") == extra["item_events"] > life_safety
    assert _total(body, "patrol_notification_oldest_pending_age_seconds") > 0


@pytest.mark.slow
def test_worker_health_endpoints(passed: tuple[Runtime, PatrolMetrics, PassSummary, dict[str, int]]) -> None:
    runtime, metrics, _, _ = passed
    beats = {"age": 1.0, "stopping": False}
    live, ready = scheduler_checks(lambda: beats["age"], lambda: bool(beats["stopping"]), stuck_after_s=60)
    probe = HealthProbe([*standard_checks(runtime.settings, runtime.workflow), ready], [live])
    with OpsHttpServer(probe, metrics.exposition) as server:
        ok_ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ok_ready.status_code == 200
        assert {c["name"] for c in ok_ready.json()["checks"]} == {
            "database",
            "data_dir",
            "post_store",
            "scheduler",
        }
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        beats["stopping"] = True
        stopping = httpx.get(f"{server.url}/readyz", timeout=10)
        assert stopping.status_code == 503 and "shutting down" in stopping.text
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        beats["age"] = 600.0
        stuck = httpx.get(f"{server.url}/healthz", timeout=10)
        assert stuck.status_code == 503 and "scheduler_loop" in stuck.text
        assert httpx.get(f"{server.url}/nothing", timeout=10).status_code == 404


def test_console_router_refuses_readiness_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    behind = WorkflowDb(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False)
    app = FastAPI()
    metrics = PatrolMetrics()
    app.include_router(ops_router(HealthProbe([database_check(behind)]), metrics.exposition))
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            refused = client.get("/readyz")
            assert refused.status_code == 503
            assert "patrol workflow migrate" in refused.json()["checks"][0]["detail"]
            assert b"patrol_pass_duration_seconds" in client.get("/metrics").content
    finally:
        behind.dispose()
    db = WorkflowDb(settings.workflow_url)
    bare, console = FastAPI(), FastAPI()
    bare.include_router(ops_router(HealthProbe(standard_checks(settings, db))))
    console.include_router(service_router(settings, db))
    try:
        with TestClient(bare) as client:
            assert client.get("/readyz").status_code == 200
            assert client.get("/metrics").status_code == 404  # not mounted without an exposition
        with TestClient(console) as client:
            assert client.get("/readyz").json()["status"] == "ok"
            body = client.get("/metrics").content
            assert ({}, 1.0) in sample_values(body, "patrol_state_up")
            assert ({}, 0.0) in sample_values(body, "patrol_pending_batches")
    finally:
        db.dispose()
