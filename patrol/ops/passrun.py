"""Running the stage functions for one source, or one whole pass, with life-safety pages sent at once.

A source's turn: crawl it (under its lock), then analyse, index and flag its pending batches right
away, not after the other sources' crawls: a post never waits for stages of unrelated sources.
Within a batch the life-safety fast path opens life-safety items as soon as their chunk is analysed
(`patrol.stages.process_batch`), and the runner delivers their pages straight after that commit.

`PassRunner.run_pass` is `patrol run --once`; `patrol.ops.scheduler.ContinuousScheduler` calls
`run_source` and `sweep` on each source's own schedule. Both call the stage functions the Airflow
DAG calls; the runner adds only order, timing, metrics and delivery.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crawlers.sources import SourceConfig
from patrol.ops.faults import kill_point
from patrol.ops.logcontext import log_context
from patrol.ops.metrics import PatrolMetrics
from patrol.passes import PassSummary, new_pass_id, send_due_scheme_alerts, summarise_pass
from patrol.runtime import Runtime
from patrol.schema import LIFE_SAFETY_CATEGORIES, CrawlReport, utcnow
from patrol.stages import BatchResult, crawl_source, discover_landing_batches, process_batch
from patrol.workflow.clock import SystemClock
from patrol.workflow.delivery import DeliveryReport, DeliveryWorker, send_email, send_webhook
from patrol.workflow.flagging import FlagReport

log = logging.getLogger("patrol.ops.passrun")

ScrapySettings = Mapping[str, str | int | float]


class SourceTurn(BaseModel):
    """What one source's turn did: its crawl and the batches processed after it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source_id: str
    pass_id: str
    started_at: datetime
    finished_at: datetime
    report: CrawlReport
    batches: list[BatchResult] = Field(default_factory=list)
    busy: bool = Field(False, description="another process held the source's lock; nothing was done")
    error: str | None = Field(None, description="an exception that ended the turn early")

    @property
    def ok(self) -> bool:
        return self.error is None and (self.report.ok or self.busy)

    @property
    def failure_reason(self) -> str:
        if self.error:
            return self.error
        kinds = sorted({e.kind for e in self.report.errors})
        first = self.report.errors[0].message.splitlines()[0] if self.report.errors else "crawl not ok"
        return f"{', '.join(kinds) or 'crawl'}: {first}"[:500]


def _with_kill_points(send: Callable[..., None]) -> Callable[..., None]:
    def send_between_kill_points(config: Any, message: Any, now: datetime) -> None:
        kill_point("notify.sending")
        send(config, message, now)
        kill_point("notify.sent")

    return send_between_kill_points


def _has_life_safety(results: Sequence[BatchResult]) -> bool:
    return any(
        count and category in LIFE_SAFETY_CATEGORIES
        for result in results
        for category, count in result.flags.new_items_by_category.items()
    )


class PassRunner:
    """Runs sources through the stages; one per process, shared by the scheduler's threads."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        scrapy_settings: ScrapySettings | None = None,
        metrics: PatrolMetrics | None = None,
        stop: threading.Event | None = None,
        workers: int = 2,
    ) -> None:
        self.runtime = runtime
        self.scrapy_settings = dict(scrapy_settings or {})
        self.metrics = metrics
        self.stop = stop or threading.Event()
        self.workers = max(1, workers)
        # Crawls run in subprocesses and overlap; the NLP, store and flag work runs one batch at a time.
        self._processing = threading.Lock()
        self._delivering = threading.Lock()
        self._delivery = DeliveryWorker(
            runtime.workflow,
            SystemClock(),
            webhook=_with_kill_points(send_webhook),
            email=_with_kill_points(send_email),
        )

    # -- notifications ----------------------------------------------------------------------------

    def deliver_now(self) -> DeliveryReport:
        """Send due notifications now (life-safety pages do not wait for the workflow worker's tick)."""
        with self._delivering:
            try:
                report = self._delivery.run_once()
            except Exception:  # a broken channel must not stop the pipeline; the worker retries
                log.exception("notification delivery failed; the workflow worker will retry")
                return DeliveryReport()
        if report.leased:
            log.info("notifications delivered", extra=report.model_dump())
        return report

    def _page_now(self, _report: FlagReport) -> None:
        self.deliver_now()

    # -- processing -------------------------------------------------------------------------------

    def process_pending(self, source_id: str | None = None) -> list[BatchResult]:
        """Analyse, index and flag the pending batches (of one source, or all); stops between batches."""
        results: list[BatchResult] = []
        with self._processing:
            discover_landing_batches(self.runtime)
            pending = [
                r for r in self.runtime.ledger.pending() if source_id is None or r.source_id == source_id
            ]
            kill_point("batches.discovered")
            for record in pending:
                if self.stop.is_set():
                    log.info(
                        "stop requested: remaining batches stay pending", extra={"pending": len(pending)}
                    )
                    break
                started = utcnow()
                result = process_batch(self.runtime, Path(record.landing_path), on_urgent=self._page_now)
                results.append(result)
                if self.metrics is not None:
                    self.metrics.observe_batch(
                        record.source_id, result, self.runtime.ledger.get(record.batch_id), started
                    )
        if _has_life_safety(results):
            self.deliver_now()
        return results

    def sweep(self) -> list[BatchResult]:
        """What no source's turn covers: batches left by a crash or by removed sources, due
        notifications and scheme alerts."""
        results = self.process_pending()
        if not self.stop.is_set():
            self.deliver_now()
            kill_point("alerts.started")
            send_due_scheme_alerts(self.runtime)
        return results

    # -- one source ---------------------------------------------------------------------------------

    def run_source(self, source: SourceConfig, pass_id: str) -> SourceTurn:
        """Crawl one source, then process its batches; never raises (the turn says what failed)."""
        started = utcnow()
        clock = time.monotonic()
        with log_context(pass_id=pass_id, source_id=source.id):
            report = crawl_source(self.runtime, source, pass_id, scrapy_settings=self.scrapy_settings)
            if self.metrics is not None:
                self.metrics.observe_crawl(report, time.monotonic() - clock)
            turn = SourceTurn(
                source_id=source.id,
                pass_id=pass_id,
                started_at=started,
                finished_at=started,
                report=report,
                busy=any(e.kind == "locked" for e in report.errors),
            )
            if not turn.busy and not self.stop.is_set():
                try:
                    turn.batches = self.process_pending(source.id)
                except Exception as exc:  # one source's bad batch must not stop the others
                    log.exception("processing failed", extra={"source_id": source.id})
                    turn.error = f"{type(exc).__name__}: {exc}"[:500]
                    if self.metrics is not None:
                        self.metrics.observe_exception(source.id)
            turn.finished_at = utcnow()
        return turn

    # -- a whole pass -------------------------------------------------------------------------------

    def run_pass(self, sources: Sequence[SourceConfig], pass_id: str | None = None) -> PassSummary:
        """One pass over the enabled sources (`patrol run --once`)."""
        pass_id = pass_id or new_pass_id()
        started = utcnow()
        clock = time.monotonic()
        with log_context(pass_id=pass_id):
            kill_point("pass.started")
            enabled = [s for s in sources if s.enabled]
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="patrol-source") as pool:
                turns = list(pool.map(lambda s: self.run_source(s, pass_id), enabled))
            leftovers = self.sweep() if not self.stop.is_set() else []
            results = [b for t in turns for b in t.batches] + leftovers
            summary = summarise_pass(self.runtime, pass_id, started, [t.report for t in turns], results)
            kill_point("pass.finished")
        if self.metrics is not None:
            self.metrics.observe_pass(ok=all(t.ok for t in turns), duration_s=time.monotonic() - clock)
        log.info(
            "pass done",
            extra={
                "pass_id": pass_id,
                "new_posts": summary.new_posts,
                "new_flags": summary.new_flags,
                "errors": summary.errors,
            },
        )
        return summary
