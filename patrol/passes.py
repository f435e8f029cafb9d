"""One pass over the sources: crawl each, then analyse, index and flag every pending batch."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pydantic import BaseModel, Field

from crawlers.sources import SourceConfig
from patrol.runtime import Runtime
from patrol.schema import CrawlReport, SourceError, utcnow
from patrol.schemes.alerts import run_scheme_alerts
from patrol.stages import BatchResult, crawl_source, process_pending
from patrol.workflow.flagging import review_items_by_category


class SourceSummary(BaseModel):
    id: str
    ok: bool
    requests: int
    pages: int
    items: int
    new_items: int
    errors: list[SourceError]


class PassSummary(BaseModel):
    pass_id: str
    started_at: datetime
    finished_at: datetime
    sources: list[SourceSummary] = Field(default_factory=list)
    batches: int = 0
    new_posts: int = 0
    updated_posts: int = 0
    rejected_rows: int = 0
    index_failures: int = Field(default=0, description="posts not indexed this pass (kept in the dead-letter file)")
    dead_letters_retried: int = 0
    new_flags: int = 0
    new_scheme_matches: int = 0
    posts: int = Field(0, description="posts in the store after the pass")
    flags: int = Field(0, description="review items in the store after the pass")
    flags_by_category: dict[str, int] = Field(default_factory=dict)
    top_terms: list[tuple[str, int]] = Field(default_factory=list)
    scorer: str = ""

    @property
    def errors(self) -> int:
        return sum(len(s.errors) for s in self.sources) + self.rejected_rows + self.index_failures


def new_pass_id(now: datetime | None = None) -> str:
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _summarise_source(report: CrawlReport) -> SourceSummary:
    return SourceSummary(
        id=report.source_id,
        ok=report.ok,
        requests=report.requests,
        pages=report.pages,
        items=report.items,
        new_items=report.new_items,
        errors=report.errors,
    )


def crawl_all(runtime: Runtime, sources: Sequence[SourceConfig], pass_id: str, workers: int = 2) -> list[CrawlReport]:
    # Each crawl is a subprocess, so threads only wait; two at a time suits a small machine.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda s: crawl_source(runtime, s, pass_id), sources))


def store_totals(runtime: Runtime, summary: PassSummary) -> PassSummary:
    summary.posts = runtime.store.count()
    with runtime.workflow.session() as session:
        summary.flags_by_category = dict(sorted(review_items_by_category(session).items()))
    summary.flags = sum(summary.flags_by_category.values())
    summary.top_terms = runtime.store.top_keywords(10)
    return summary


def summarise_pass(
    runtime: Runtime, pass_id: str, started: datetime, reports: Sequence[CrawlReport], results: Sequence[BatchResult]
) -> PassSummary:
    summary = PassSummary(
        pass_id=pass_id,
        started_at=started,
        finished_at=utcnow(),
        sources=[_summarise_source(r) for r in reports],
        batches=len(results),
        new_posts=sum(r.upsert.inserted for r in results),
        updated_posts=sum(r.upsert.updated for r in results),
        rejected_rows=sum(r.rejected_rows for r in results),
        index_failures=sum(r.upsert.failed for r in results),
        dead_letters_retried=sum(r.upsert.retried for r in results),
        new_flags=sum(r.flags.new_items for r in results),
        new_scheme_matches=sum(r.schemes.new_matches for r in results),
        scorer=runtime.nlp.scorer_name if results else "",
    )
    return store_totals(runtime, summary)


def send_due_scheme_alerts(runtime: Runtime) -> None:
    """Digests, spikes and alerts held over quiet hours that are due now (harmless to run often)."""
    with runtime.workflow.session() as session:
        run_scheme_alerts(session, utcnow())


def run_pass(runtime: Runtime, sources: Sequence[SourceConfig], pass_id: str | None = None) -> PassSummary:
    pass_id = pass_id or new_pass_id()
    started = utcnow()
    reports = crawl_all(runtime, [s for s in sources if s.enabled], pass_id)
    results = process_pending(runtime)
    send_due_scheme_alerts(runtime)
    return summarise_pass(runtime, pass_id, started, reports, results)
