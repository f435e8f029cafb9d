"""The pipeline's stages as plain functions over plain data.

The CLI (`patrol demo`, `patrol run`), the Airflow DAGs and the tests all call these. Each stage
records its completion in the ledger, so re-running any of them changes nothing and a pass that
crashed is finished by the next one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel, ValidationError

from crawlers.health import record_pass as record_source_health
from crawlers.run import run_crawl
from crawlers.sources import SourceConfig
from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE
from nlp.topics import assign_topics
from patrol.ledger import batch_id_of
from patrol.ops.faults import kill_point, watch_crawl
from patrol.ops.locks import SourceBusy, source_lock
from patrol.runtime import Runtime
from patrol.schema import LIFE_SAFETY_CATEGORIES, AnalysedPost, CrawlReport, Post, SourceError, utcnow
from patrol.schemes.live import SchemeMatchReport, match_schemes
from patrol.store.base import UpsertResult
from patrol.workflow.flagging import FlagReport, open_review_items

log = logging.getLogger("patrol.stages")


class BatchResult(BaseModel):
    batch_id: str
    posts: int = 0
    rejected_rows: int = 0
    upsert: UpsertResult = UpsertResult()
    flags: FlagReport = FlagReport()
    schemes: SchemeMatchReport = SchemeMatchReport()
    skipped: bool = False  # another process held the source's lock; the batch stays pending


def _atomic_write_lines(path: Path, lines: Iterator[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def analysed_path_for(runtime: Runtime, landing_path: Path) -> Path:
    return runtime.settings.data_dir / "analysed" / landing_path.parent.name / landing_path.name


def rejected_path_for(runtime: Runtime, landing_path: Path) -> Path:
    return runtime.settings.data_dir / "rejected" / landing_path.parent.name / landing_path.name


# -- crawl ------------------------------------------------------------------------------------


def crawl_source(
    runtime: Runtime,
    source: SourceConfig,
    pass_id: str,
    *,
    scrapy_settings: Mapping[str, str | int | float] | None = None,
) -> CrawlReport:
    """Crawl one source in its own process; a failing source is reported, never raised.

    A source another process works right now (its lock is held) is skipped with an error of kind
    `locked`. `scrapy_settings` overrides Scrapy settings for this crawl.
    """
    started = utcnow()
    try:
        with source_lock(runtime.settings.data_dir, source.id, purpose=f"crawl, pass {pass_id}"):
            kill_point("crawl.started")
            with watch_crawl(runtime.settings.landing_dir / source.id, pass_id):
                report = run_crawl(
                    source,
                    pass_id=pass_id,
                    data_dir=runtime.settings.data_dir,
                    sources_file=runtime.settings.sources_file,
                    timeout_s=runtime.settings.crawl_timeout_s,
                    settings=scrapy_settings,
                )
            kill_point("crawl.finished")
            runtime.ledger.record_crawl(report)
            record_source_health(runtime.settings.sqlite_path, report, data_dir=runtime.settings.data_dir)
            for batch in report.batches:
                runtime.ledger.register(Path(batch))
    except SourceBusy as busy:
        log.warning("source busy, crawl skipped", extra={"pass_id": pass_id, "source_id": source.id})
        error = SourceError(kind="locked", message=str(busy))
        return CrawlReport(
            source_id=source.id,
            pass_id=pass_id,
            started_at=started,
            finished_at=utcnow(),
            ok=False,
            errors=[error],
        )
    log.info(
        "crawl done",
        extra={"pass_id": pass_id, "source_id": source.id, "ok": report.ok, "items": report.items},
    )
    return report


def discover_landing_batches(runtime: Runtime) -> list[Path]:
    """Every complete landing batch on disk (a crash can leave batches the ledger never saw)."""
    root = runtime.settings.landing_dir
    batches = sorted(root.glob("*/*.jsonl")) if root.exists() else []
    for path in batches:
        runtime.ledger.register(path)
    return batches


# -- analyse ----------------------------------------------------------------------------------


def _read_landing(path: Path, rejected: list[str]) -> list[Post]:
    posts: list[Post] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                post = Post.model_validate_json(line)
            except ValidationError as exc:  # a bad row fails that row, not the batch
                reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
                rejected.append(json.dumps({"line": number, "reason": reason, "raw": line.strip()}, ensure_ascii=False))
                continue
            if post.id not in seen:
                seen.add(post.id)
                posts.append(post)
    return posts


def analyse_batch(
    runtime: Runtime, landing_path: Path, *, on_chunk: Callable[[list[AnalysedPost]], None] | None = None
) -> Path:
    """Run the NLP stage over one landing batch; writes the analysed batch and returns its path.

    `on_chunk` sees each chunk as soon as it is analysed (the life-safety fast path uses it).
    """
    record = runtime.ledger.register(landing_path)
    out = analysed_path_for(runtime, landing_path)
    if record.analysed_at is not None and out.exists():
        return out
    kill_point("analyse.started")
    rejected: list[str] = []
    posts = _read_landing(landing_path, rejected)
    if rejected:
        _atomic_write_lines(rejected_path_for(runtime, landing_path), iter(rejected))
        log.warning("rows rejected", extra={"batch_id": record.batch_id, "rejected": len(rejected)})
    size = runtime.settings.analyse_batch_size

    def lines() -> Iterator[str]:
        for start in range(0, len(posts), size):
            chunk = posts[start : start + size]
            analysed = [
                AnalysedPost(post=post, analysis=analysis)
                for post, analysis in zip(chunk, runtime.nlp.analyse(chunk), strict=True)
            ]
            for item in analysed:
                yield item.model_dump_json()
            if on_chunk is not None:
                on_chunk(analysed)
            kill_point("analyse.chunk_written")

    _atomic_write_lines(out, lines())
    kill_point("analyse.renamed")
    runtime.ledger.mark(record.batch_id, "analysed", posts=len(posts), rejected=len(rejected))
    return out


def read_analysed(path: Path) -> list[AnalysedPost]:
    with path.open(encoding="utf-8") as lines:
        return [AnalysedPost.model_validate_json(line) for line in lines if line.strip()]


# -- index and flag ---------------------------------------------------------------------------


def index_batch(runtime: Runtime, analysed_path: Path) -> UpsertResult:
    """Upsert the batch into the store and fold it into the hot-topic model (both idempotent)."""
    analysed = read_analysed(analysed_path)
    result = runtime.store.upsert(analysed)
    assign_topics(runtime.settings, analysed)
    kill_point("index.committed")
    runtime.ledger.mark(batch_id_of(analysed_path), "indexed")
    return result


def flag_batch(runtime: Runtime, analysed_path: Path) -> tuple[FlagReport, SchemeMatchReport]:
    """Open review items for risky posts and record which monitoring schemes each post matches.

    Schemes never open review items: risk comes from the risk stage alone.
    """
    analysed = read_analysed(analysed_path)
    with runtime.workflow.session() as session:
        report = open_review_items(session, analysed, runtime.thresholds, max_distance=NEAR_DUPLICATE_MAX_DISTANCE)
    kill_point("flag.committed")
    schemes = match_schemes(runtime, analysed)
    kill_point("schemes.matched")
    runtime.ledger.mark(batch_id_of(analysed_path), "flagged")
    return report, schemes


def flag_life_safety_now(runtime: Runtime, chunk: list[AnalysedPost]) -> FlagReport:
    """The life-safety fast path: open items for life-safety posts of a chunk before the rest of its batch.

    Only the life-safety categories are flagged here (the batch's flag stage does the others and
    finds these already flagged); the page to the duty officer is queued in the same transaction.
    """
    urgent = []
    for item in chunk:
        scores = {c: s for c, s in item.analysis.risk_scores.items() if c in LIFE_SAFETY_CATEGORIES}
        if runtime.thresholds.flagged(scores):
            analysis = item.analysis.model_copy(update={"risk_scores": scores})
            urgent.append(item.model_copy(update={"analysis": analysis}))
    if not urgent:
        return FlagReport()
    with runtime.workflow.session() as session:
        report = open_review_items(session, urgent, runtime.thresholds, max_distance=NEAR_DUPLICATE_MAX_DISTANCE)
    kill_point("fastpath.committed")
    log.info(
        "life-safety posts flagged ahead of their batch",
        extra={"urgent_posts": len(urgent), **report.model_dump()},
    )
    return report


def _add_flag_reports(first: FlagReport, second: FlagReport, *, counted_twice: int = 0) -> FlagReport:
    by_category = dict(first.new_items_by_category)
    for category, count in second.new_items_by_category.items():
        by_category[category] = by_category.get(category, 0) + count
    return FlagReport(
        new_items=first.new_items + second.new_items,
        attached_copies=first.attached_copies + second.attached_copies,
        already_flagged=max(0, first.already_flagged + second.already_flagged - counted_twice),
        new_items_by_category=by_category,
    )


def process_batch(
    runtime: Runtime, landing_path: Path, *, on_urgent: Callable[[FlagReport], None] | None = None
) -> BatchResult:
    """Analyse, index and flag one batch, resuming at the first stage not yet done.

    Life-safety posts are flagged as soon as their chunk is analysed; `on_urgent` hears of each such
    commit that opened items (the pass runner sends the pages then). A batch whose source another
    process holds is skipped (`skipped`) and stays pending.
    """
    record = runtime.ledger.register(landing_path)
    result = BatchResult(batch_id=record.batch_id)
    if record.done:
        return result
    urgent = FlagReport()

    def flag_urgent(chunk: list[AnalysedPost]) -> None:
        nonlocal urgent
        report = flag_life_safety_now(runtime, chunk)
        urgent = _add_flag_reports(urgent, report)
        if report.new_items and on_urgent is not None:
            on_urgent(report)

    try:
        with source_lock(runtime.settings.data_dir, record.source_id, purpose=f"process {record.batch_id}"):
            analysed = analyse_batch(runtime, landing_path, on_chunk=flag_urgent)
            result.upsert = index_batch(runtime, analysed)
            flags, result.schemes = flag_batch(runtime, analysed)
    except SourceBusy:
        log.info("source busy, batch left pending", extra={"batch_id": record.batch_id})
        result.skipped = True
        return result
    # The batch's flag stage found the pairs the fast path opened already flagged.
    result.flags = _add_flag_reports(urgent, flags, counted_twice=urgent.new_items + urgent.attached_copies)
    kill_point("batch.done")
    done = runtime.ledger.get(record.batch_id)
    if done is not None:
        result.posts, result.rejected_rows = done.posts, done.rejected_rows
    return result


def process_pending(runtime: Runtime) -> list[BatchResult]:
    discover_landing_batches(runtime)
    return [process_batch(runtime, Path(record.landing_path)) for record in runtime.ledger.pending()]
