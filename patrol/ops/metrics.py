"""Prometheus metrics: what the passes did (counters, histograms) and what is waiting (gauges).

`PatrolMetrics` owns its own registry (no global state; tests make as many as they like):

- recorded by the pass runner as it works: pass and stage durations, items and errors by source,
  passes by outcome, each source's consecutive failures and next attempt;
- read from the databases at scrape time by `PipelineStateCollector`, so every process that
  serves /metrics (a worker, the console) reports the same state: landing batches not yet done
  (the pipeline's queue depth), open review items, open verification tasks, SLA breaches, the
  notification backlog, posts stored.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from patrol.ledger import BatchRecord
from patrol.schema import CrawlReport, utcnow
from patrol.stages import BatchResult
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import OutboxDelivery, OutboxEvent, ReviewItem, SlaBreach, VerificationTask

log = logging.getLogger("patrol.ops.metrics")

#: Seconds; crawls take minutes, the NLP stage seconds to minutes per batch.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600)
OPEN_ITEM_STATUSES = ("new", "claimed")
CLOSED_TASK_STATUSES = ("completed", "cancelled")


class PatrolMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.pass_duration = Histogram(
            "patrol_pass_duration_seconds",
            "Wall time of a pass, crawl to last flag",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.passes = Counter(
            "patrol_passes", "Passes finished, by outcome (ok, failed)", ["outcome"], registry=r
        )
        self.stage_duration = Histogram(
            "patrol_stage_duration_seconds",
            "Wall time of one stage for one source (crawl) or one landing batch (analyse, index, flag)",
            ["stage", "source"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.items = Counter(
            "patrol_items",
            "Items by source and kind: crawled, new_posts, updated_posts, rejected_rows, new_review_items,"
            " attached_copies",
            ["source", "kind"],
            registry=r,
        )
        self.errors = Counter(
            "patrol_errors",
            "Errors by source and kind (crawl error kinds, rejected_row, index_failure, exception)",
            ["source", "kind"],
            registry=r,
        )
        self.source_failures = Gauge(
            "patrol_source_consecutive_failures",
            "Failed turns in a row of each source (0: healthy)",
            ["source"],
            registry=r,
        )
        self.source_next_attempt = Gauge(
            "patrol_source_next_attempt_timestamp_seconds",
            "When each source is crawled next (Unix time)",
            ["source"],
            registry=r,
        )
        self.source_last_success = Gauge(
            "patrol_source_last_success_timestamp_seconds",
            "When each source last had a good turn (Unix time)",
            ["source"],
            registry=r,
        )
        self.last_pass_end = Gauge(
            "patrol_last_pass_end_timestamp_seconds",
            "When the last pass of this process ended (Unix time)",
            registry=r,
        )

    # -- recording ------------------------------------------------------------------------------

    def observe_crawl(self, report: CrawlReport, duration_s: float) -> None:
        source = report.source_id
        self.stage_duration.labels("crawl", source).observe(duration_s)
        self.items.labels(source, "crawled").inc(report.items)
        for error in report.errors:
            self.errors.labels(source, error.kind).inc()

    def observe_batch(
        self, source: str, result: BatchResult, record: BatchRecord | None, started: datetime
    ) -> None:
        if result.skipped:
            return
        self.items.labels(source, "new_posts").inc(result.upsert.inserted)
        self.items.labels(source, "updated_posts").inc(result.upsert.updated)
        self.items.labels(source, "rejected_rows").inc(result.rejected_rows)
        self.items.labels(source, "new_review_items").inc(result.flags.new_items)
        self.items.labels(source, "attached_copies").inc(result.flags.attached_copies)
        if result.rejected_rows:
            self.errors.labels(source, "rejected_row").inc(result.rejected_rows)
        if result.upsert.failed:
            self.errors.labels(source, "index_failure").inc(result.upsert.failed)
        if record is not None:
            self._observe_stage_times(source, record, started)

    def _observe_stage_times(self, source: str, record: BatchRecord, started: datetime) -> None:
        # The ledger stamps each stage as it commits; stages done by an earlier run are not timed again.
        marks = [("analyse", record.analysed_at), ("index", record.indexed_at), ("flag", record.flagged_at)]
        previous = started
        for stage, done_at in marks:
            if done_at is None or done_at < started:
                continue
            self.stage_duration.labels(stage, source).observe(max(0.0, (done_at - previous).total_seconds()))
            previous = done_at

    def observe_exception(self, source: str) -> None:
        self.errors.labels(source, "exception").inc()

    def observe_pass(self, *, ok: bool, duration_s: float) -> None:
        self.pass_duration.observe(duration_s)
        self.passes.labels("ok" if ok else "failed").inc()
        self.last_pass_end.set(utcnow().timestamp())

    def observe_source_health(
        self, source: str, *, failures: int, next_attempt: datetime, last_success: datetime | None
    ) -> None:
        self.source_failures.labels(source).set(failures)
        self.source_next_attempt.labels(source).set(next_attempt.timestamp())
        if last_success is not None:
            self.source_last_success.labels(source).set(last_success.timestamp())

    def add_state_collector(self, collector: PipelineStateCollector) -> None:
        self.registry.register(collector)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class PipelineStateCollector(Collector):
    """Gauges read from the ledger, the post store and the workflow database at every scrape."""

    def __init__(self, sqlite_path: Path, db: WorkflowDb) -> None:
        self.sqlite_path = sqlite_path
        self.db = db

    def describe(self) -> Iterator[Metric]:
        return iter(())  # values come from the databases at scrape time; nothing to describe up front

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("patrol_state_up", "1 when the databases answered this scrape, 0 when not")
        try:
            families = [*self._from_sqlite(), *self._from_workflow()]
        except Exception:  # a scrape must answer even when a database does not
            log.warning("metrics: reading pipeline state failed", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_sqlite(self) -> list[Metric]:
        pending = GaugeMetricFamily(
            "patrol_pending_batches", "Landing batches not yet analysed, indexed and flagged (queue depth)"
        )
        posts = GaugeMetricFamily("patrol_posts_stored", "Posts in the embedded store")
        if not self.sqlite_path.exists():
            pending.add_metric([], 0)
            posts.add_metric([], 0)
            return [pending, posts]
        conn = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=5)
        try:
            pending.add_metric([], _count(conn, "SELECT count(*) FROM batches WHERE flagged_at IS NULL"))
            posts.add_metric([], _count(conn, "SELECT count(*) FROM posts"))
        finally:
            conn.close()
        return [pending, posts]

    def _from_workflow(self) -> list[Metric]:
        items = GaugeMetricFamily(
            "patrol_review_queue_items",
            "Open review items (new or claimed)",
            labels=["category", "life_safety"],
        )
        tasks = GaugeMetricFamily(
            "patrol_open_tasks", "Verification tasks not completed or cancelled", labels=["status"]
        )
        breaches = GaugeMetricFamily(
            "patrol_sla_breaches", "SLA breaches recorded, by subject and kind", labels=["subject", "kind"]
        )
        backlog = GaugeMetricFamily(
            "patrol_notification_backlog",
            "Notification deliveries not delivered, by status",
            labels=["status"],
        )
        oldest = GaugeMetricFamily(
            "patrol_notification_oldest_pending_age_seconds",
            "Age of the oldest notification still to deliver",
        )
        with self.db.read_session() as session:
            for category, life_safety, count in session.execute(
                select(ReviewItem.category, ReviewItem.life_safety, func.count())
                .where(ReviewItem.status.in_(OPEN_ITEM_STATUSES))
                .group_by(ReviewItem.category, ReviewItem.life_safety)
            ).tuples():
                items.add_metric([category, "true" if life_safety else "false"], count)
            for status, count in session.execute(
                select(VerificationTask.status, func.count())
                .where(VerificationTask.status.not_in(CLOSED_TASK_STATUSES))
                .group_by(VerificationTask.status)
            ).tuples():
                tasks.add_metric([status], count)
            for subject, kind, count in session.execute(
                select(SlaBreach.subject_type, SlaBreach.kind, func.count()).group_by(
                    SlaBreach.subject_type, SlaBreach.kind
                )
            ).tuples():
                breaches.add_metric([subject, kind], count)
            counts = {
                status: count
                for status, count in session.execute(
                    select(OutboxDelivery.status, func.count())
                    .where(OutboxDelivery.status != "delivered")
                    .group_by(OutboxDelivery.status)
                ).tuples()
            }
            for status in ("pending", "dead"):
                backlog.add_metric([status], counts.get(status, 0))
            first = session.scalar(
                select(func.min(OutboxEvent.created_at))
                .join(OutboxDelivery, OutboxDelivery.event_id == OutboxEvent.id)
                .where(OutboxDelivery.status == "pending")
            )
        oldest.add_metric([], _age_s(first))
        return [items, tasks, breaches, backlog, oldest]


def _count(conn: sqlite3.Connection, sql: str) -> int:
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # the table does not exist yet: nothing ran
        return 0


def _age_s(moment: datetime | str | None) -> float:
    if moment is None:
        return 0.0
    if isinstance(moment, str):  # SQLite aggregates come back as text, not through the column type
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - moment).total_seconds())


def sample_values(exposition: bytes, name: str) -> Sequence[tuple[dict[str, str], float]]:
    """(labels, value) of every sample called `name` in a text exposition (tests and `patrol` checks)."""
    from prometheus_client.parser import text_string_to_metric_families

    found = []
    for family in text_string_to_metric_families(exposition.decode("utf-8")):
        for sample in family.samples:
            if sample.name == name:
                found.append((dict(sample.labels), float(sample.value)))
    return found
