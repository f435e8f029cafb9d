"""The pipeline's stages as plain functions over plain data.

The CLI (`patrol demo`, `patrol run`), the Airflow DAGs and the tests all call these. Each stage
records its completion in the ledger, so re-running any of them changes nothing and a pass that
crashed is finished by the next one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError

from crawlers.run import run_crawl
from crawlers.sources import SourceConfig
from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE
from patrol.ledger import batch_id_of
from patrol.runtime import Runtime
from patrol.schema import AnalysedPost, CrawlReport, Post
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


def crawl_source(runtime: Runtime, source: SourceConfig, pass_id: str) -> CrawlReport:
    """Crawl one source in its own process; a failing source is reported, never raised."""
    report = run_crawl(
        source,
        pass_id=pass_id,
        data_dir=runtime.settings.data_dir,
        sources_file=runtime.settings.sources_file,
        timeout_s=runtime.settings.crawl_timeout_s,
    )
    runtime.ledger.record_crawl(report)
    for batch in report.batches:
        runtime.ledger.register(Path(batch))
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


def analyse_batch(runtime: Runtime, landing_path: Path) -> Path:
    """Run the NLP stage over one landing batch; writes the analysed batch and returns its path."""
    record = runtime.ledger.register(landing_path)
    out = analysed_path_for(runtime, landing_path)
    if record.analysed_at is not None and out.exists():
        return out
    rejected: list[str] = []
    posts = _read_landing(landing_path, rejected)
    if rejected:
        _atomic_write_lines(rejected_path_for(runtime, landing_path), iter(rejected))
        log.warning("rows rejected", extra={"batch_id": record.batch_id, "rejected": len(rejected)})
    size = runtime.settings.analyse_batch_size

    def lines() -> Iterator[str]:
        for start in range(0, len(posts), size):
            chunk = posts[start : start + size]
            for post, analysis in zip(chunk, runtime.nlp.analyse(chunk), strict=True):
                yield AnalysedPost(post=post, analysis=analysis).model_dump_json()

    _atomic_write_lines(out, lines())
    runtime.ledger.mark(record.batch_id, "analysed", posts=len(posts), rejected=len(rejected))
    return out


def read_analysed(path: Path) -> list[AnalysedPost]:
    with path.open(encoding="utf-8") as lines:
        return [AnalysedPost.model_validate_json(line) for line in lines if line.strip()]


# -- index and flag ---------------------------------------------------------------------------


def index_batch(runtime: Runtime, analysed_path: Path) -> UpsertResult:
    result = runtime.store.upsert(read_analysed(analysed_path))
    runtime.ledger.mark(batch_id_of(analysed_path), "indexed")
    return result


def flag_batch(runtime: Runtime, analysed_path: Path) -> tuple[FlagReport, SchemeMatchReport]:
    """Open review items for risky posts and record which monitoring schemes each post matches.

    Schemes never open review items: risk comes from the risk stage alone.
    """
    analysed = read_analysed(analysed_path)
    with runtime.workflow.session() as session:
        report = open_review_items(
            session, analysed, runtime.thresholds, max_distance=NEAR_DUPLICATE_MAX_DISTANCE
        )
    schemes = match_schemes(runtime, analysed)
    runtime.ledger.mark(batch_id_of(analysed_path), "flagged")
    return report, schemes


def process_batch(runtime: Runtime, landing_path: Path) -> BatchResult:
    """Analyse, index and flag one batch, resuming at the first stage not yet done."""
    record = runtime.ledger.register(landing_path)
    result = BatchResult(batch_id=record.batch_id)
    if record.done:
        return result
    analysed = analyse_batch(runtime, landing_path)
    result.upsert = index_batch(runtime, analysed)
    result.flags, result.schemes = flag_batch(runtime, analysed)
    done = runtime.ledger.get(record.batch_id)
    if done is not None:
        result.posts, result.rejected_rows = done.posts, done.rejected_rows
    return result


def process_pending(runtime: Runtime) -> list[BatchResult]:
    discover_landing_batches(runtime)
    return [process_batch(runtime, Path(record.landing_path)) for record in runtime.ledger.pending()]
