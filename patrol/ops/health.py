"""Liveness (`/healthz`) and readiness (`/readyz`) for the console and the workers.

- `/healthz` answers whether the process should be restarted: it is cheap, touches no database
  (a database outage must not make an orchestrator restart every worker in a loop), and fails only
  when the process's own loop is stuck (a worker whose scheduler stopped beating).
- `/readyz` answers whether the process can do its work now: the workflow database answers and is
  at the latest migration, the data folder is writable and has room, the post store opens, and
  (for a worker) it is not shutting down. 503 with the failing checks otherwise.

`ops_router(...)` mounts both and `/metrics` on a FastAPI app (the console);
`patrol.ops.http.OpsHttpServer` serves the same on a worker's own port.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from patrol.config import Settings
from patrol.workflow.db import WorkflowDb

#: Readiness fails below this much free space in the data folder (landing files, database growth).
MIN_FREE_BYTES = 512 * 1024 * 1024


class CheckResult(BaseModel):
    name: str
    ok: bool
    detail: str = ""


class HealthReport(BaseModel):
    status: str  # ok | failing
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return self.status == "ok"


Check = Callable[[], CheckResult]


def _report(checks: Sequence[CheckResult]) -> HealthReport:
    return HealthReport(status="ok" if all(c.ok for c in checks) else "failing", checks=list(checks))


def _guard(name: str, check: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name=name, ok=True, detail=check())
    except Exception as exc:  # a check reports its failure; it never raises into the endpoint
        return CheckResult(name=name, ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])


def database_check(db: WorkflowDb) -> Check:
    def check() -> str:
        from patrol.workflow.migrations.runner import current_revision, head_revision

        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            current = current_revision(connection)
        head = head_revision()
        if current != head:
            raise RuntimeError(
                f"schema at revision {current}, code expects {head}: run `patrol workflow migrate`"
            )
        return f"{db.dialect}, revision {current}"

    return lambda: _guard("database", check)


def data_dir_check(data_dir: Path, min_free_bytes: int = MIN_FREE_BYTES) -> Check:
    def check() -> str:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".readyz-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
        free = shutil.disk_usage(data_dir).free
        if free < min_free_bytes:
            raise RuntimeError(
                f"{data_dir}: only {free // 2**20} MiB free (need {min_free_bytes // 2**20} MiB)"
            )
        return f"{data_dir} writable, {free // 2**20} MiB free"

    return lambda: _guard("data_dir", check)


def post_store_check(sqlite_path: Path) -> Check:
    def check() -> str:
        if not sqlite_path.exists():
            return f"{sqlite_path} not created yet (the first pass creates it)"
        conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=5)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        finally:
            conn.close()
        return f"{sqlite_path} readable"

    return lambda: _guard("post_store", check)


def standard_checks(settings: Settings, db: WorkflowDb) -> list[Check]:
    return [database_check(db), data_dir_check(settings.data_dir), post_store_check(settings.sqlite_path)]


class HealthProbe:
    """Liveness and readiness of one process, from its checks."""

    def __init__(self, readiness: Sequence[Check], liveness: Sequence[Check] = ()) -> None:
        self.readiness = list(readiness)
        self.liveness_checks = list(liveness)

    def live(self) -> HealthReport:
        return _report([check() for check in self.liveness_checks] or [CheckResult(name="process", ok=True)])

    def ready(self) -> HealthReport:
        return _report([check() for check in self.readiness])


def scheduler_checks(
    seconds_since_heartbeat: Callable[[], float], stopping: Callable[[], bool], *, stuck_after_s: float
) -> tuple[Check, Check]:
    """(liveness, readiness) checks of a continuous scheduler."""

    def beating() -> str:
        age = seconds_since_heartbeat()
        if age > stuck_after_s:
            raise RuntimeError(f"scheduler loop last ran {age:.0f} s ago (limit {stuck_after_s:.0f} s)")
        return f"loop ran {age:.1f} s ago"

    def accepting() -> str:
        if stopping():
            raise RuntimeError("shutting down: finishing the current stage")
        return "running"

    return (lambda: _guard("scheduler_loop", beating)), (lambda: _guard("scheduler", accepting))


def ops_router(probe: HealthProbe, exposition: Callable[[], bytes] | None = None) -> APIRouter:
    """`/healthz`, `/readyz` and (with `exposition`) `/metrics` for a FastAPI app; no login needed."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz() -> JSONResponse:
        report = probe.live()
        return JSONResponse(report.model_dump(), status_code=200 if report.ok else 503)

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        report = probe.ready()
        return JSONResponse(report.model_dump(), status_code=200 if report.ok else 503)

    if exposition is not None:
        render = exposition

        @router.get("/metrics")
        def metrics() -> Response:
            return Response(render(), media_type=CONTENT_TYPE_LATEST)

    return router


def service_router(settings: Settings, db: WorkflowDb) -> APIRouter:
    """`/healthz`, `/readyz` and `/metrics` (the pipeline-state gauges) for the console app."""
    from patrol.ops.metrics import PatrolMetrics, PipelineStateCollector

    metrics = PatrolMetrics()
    metrics.add_state_collector(PipelineStateCollector(settings.sqlite_path, db))
    return ops_router(HealthProbe(standard_checks(settings, db)), metrics.exposition)
