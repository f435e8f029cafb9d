"""Ingest every 10 minutes: crawl each source (one mapped task per source), then analyse, index and
flag everything that landed.

Thin on purpose: the tasks call the same stage functions as `patrol run`; all imports of project
code happen inside the tasks so parsing this file stays cheap for the DAG processor.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import dag, get_current_context, task


def _pass_id(run_id: str) -> str:
    # Run ids carry ':' and '+' (manual__2026-11-28T10:00:00+00:00); pass ids name files.
    return re.sub(r"[^A-Za-z0-9_.-]", "-", run_id)


@dag(
    dag_id="patrol_ingest",
    schedule=timedelta(minutes=10),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["patrol"],
    doc_md=__doc__,
)
def patrol_ingest() -> None:
    @task
    def list_sources() -> list[dict[str, Any]]:
        from crawlers.sources import load_sources
        from patrol.config import load_settings

        return [s.model_dump(mode="json") for s in load_sources(load_settings().sources_file) if s.enabled]

    @task(map_index_template="{{ task.op_kwargs['source']['id'] }}")
    def crawl(source: dict[str, Any]) -> dict[str, Any]:
        from crawlers.sources import SourceConfig
        from patrol.config import load_settings
        from patrol.runtime import Runtime
        from patrol.stages import crawl_source

        runtime = Runtime(load_settings())
        try:
            pass_id = _pass_id(get_current_context()["run_id"])
            report = crawl_source(runtime, SourceConfig.model_validate(source), pass_id)
        finally:
            runtime.close()
        return report.model_dump(mode="json")

    @task
    def analyse_index_flag(reports: list[dict[str, Any]]) -> dict[str, Any]:
        from patrol.config import load_settings
        from patrol.passes import send_due_scheme_alerts, summarise_pass
        from patrol.runtime import Runtime
        from patrol.schema import CrawlReport, utcnow
        from patrol.stages import process_pending

        runtime = Runtime(load_settings())
        try:
            started = utcnow()
            crawl_reports = [CrawlReport.model_validate(r) for r in reports]
            results = process_pending(runtime)
            send_due_scheme_alerts(runtime)
            pass_id = _pass_id(get_current_context()["run_id"])
            summary = summarise_pass(runtime, pass_id, started, crawl_reports, results)
        finally:
            runtime.close()
        return summary.model_dump(mode="json")

    analyse_index_flag(crawl.expand(source=list_sources()))


patrol_ingest()
