"""Run one source's crawl in its own process and return its report.

A Twisted reactor cannot be restarted inside one Python process, so every crawl is
`python -m scrapy crawl <kind>` in a subprocess. The runner never raises for a bad source: a crawl
that fails to start, crashes or writes no report comes back as `CrawlReport(ok=False)` with the end
of its log, which is kept at `<data_dir>/reports/<pass_id>/<source_id>.log`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from crawlers.report import report_path
from crawlers.sources import SourceConfig
from patrol.schema import CrawlReport, SourceError, utcnow

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Most seconds a crawl gets to shut down cleanly after the hard timeout before it is killed.
SHUTDOWN_GRACE_S = 15
#: Longest single download (the settings' DOWNLOAD_TIMEOUT); shorter when the whole crawl is short.
DEFAULT_DOWNLOAD_TIMEOUT_S = 30
#: Seconds kept for closing (landing the last batch, writing the report) before the hard timeout.
CLOSE_MARGIN_S = 3
#: Characters of the crawl log quoted in a failed report.
LOG_TAIL_CHARS = 2000


def _log_tail(log_path: Path) -> str:
    try:
        with log_path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - LOG_TAIL_CHARS * 3))
            return handle.read().decode("utf-8", errors="replace")[-LOG_TAIL_CHARS:]
    except OSError:
        return ""


def time_limits(timeout_s: int, *, now: float) -> dict[str, int | float]:
    """Scrapy limits that let a crawl end by itself before the runner's hard timeout.

    At `PATROL_DEADLINE_AT` (fixed here, so a slow start-up eats into the pass rather than
    past it) the crawl stops scheduling and retrying; downloads in flight end within
    `DOWNLOAD_TIMEOUT`, leaving time to land the last batch and write the report.
    `CLOSESPIDER_TIMEOUT` is the backstop should that not happen.
    """
    download_timeout = max(1, min(DEFAULT_DOWNLOAD_TIMEOUT_S, timeout_s // 6))
    deadline_s = max(1, timeout_s - 2 * download_timeout - CLOSE_MARGIN_S)
    backstop_s = max(deadline_s, timeout_s - download_timeout - CLOSE_MARGIN_S)
    return {
        "PATROL_DEADLINE_AT": round(now + deadline_s, 3),
        "CLOSESPIDER_TIMEOUT": backstop_s,
        "DOWNLOAD_TIMEOUT": download_timeout,
    }


def crawl_command(
    source: SourceConfig,
    *,
    pass_id: str,
    data_dir: Path,
    sources_file: Path,
    settings: Mapping[str, str | int | float] | None = None,
) -> list[str]:
    """The `scrapy crawl` command line for one source (absolute paths: the cwd does not matter)."""
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        source.kind,
        "-a",
        f"source_id={source.id}",
        "-a",
        f"pass_id={pass_id}",
        "-s",
        f"PATROL_DATA_DIR={data_dir.resolve()}",
        "-s",
        f"PATROL_SOURCES_FILE={sources_file.resolve()}",
    ]
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    return command


def _failed(source: SourceConfig, pass_id: str, started_at: datetime, kind: str, message: str) -> CrawlReport:
    return CrawlReport(
        source_id=source.id,
        pass_id=pass_id,
        started_at=started_at,
        finished_at=utcnow(),
        ok=False,
        errors=[SourceError(kind=kind, message=message)],
    )


def run_crawl(
    source: SourceConfig,
    *,
    pass_id: str,
    data_dir: Path,
    sources_file: Path,
    timeout_s: int = 600,
    settings: Mapping[str, str | int | float] | None = None,
) -> CrawlReport:
    """Crawl one source in a subprocess, within `timeout_s`, and return its report.

    `settings` overrides Scrapy settings for this run (e.g. `{"AUTOTHROTTLE_START_DELAY": 0}`).
    The crawl is asked to stop early enough to land what it has (see `time_limits`); if it is still
    running at the timeout it gets a shutdown signal, then is killed after a short grace period.
    """
    started_at = utcnow()
    data_dir = data_dir.resolve()
    path = report_path(data_dir, pass_id, source.id)
    log_path = path.with_suffix(".log")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # a report left by an earlier run of this pass is not ours
    except OSError as exc:
        return _failed(source, pass_id, started_at, "unreachable", f"cannot prepare {path.parent}: {exc}")
    command = crawl_command(
        source,
        pass_id=pass_id,
        data_dir=data_dir,
        sources_file=sources_file,
        settings={**time_limits(timeout_s, now=time.time()), **source.scrapy_settings(), **(settings or {})},
    )
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    timed_out = False
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the kill below reaches any children
            )
            try:
                returncode = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                returncode = _stop(process, grace_s=min(SHUTDOWN_GRACE_S, max(2, timeout_s // 4)))
    except OSError as exc:
        return _failed(source, pass_id, started_at, "unreachable", f"cannot start the crawl process: {exc}")
    return _collect(source, pass_id, started_at, path, log_path, returncode, timed_out, timeout_s)


def _stop(process: subprocess.Popen[bytes], *, grace_s: int) -> int:
    """Ask the crawl to shut down cleanly; kill its process group if it does not in time."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


def _collect(
    source: SourceConfig,
    pass_id: str,
    started_at: datetime,
    path: Path,
    log_path: Path,
    returncode: int,
    timed_out: bool,
    timeout_s: int,
) -> CrawlReport:
    report: CrawlReport | None = None
    problem = ""
    if path.exists():
        try:
            report = CrawlReport.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError) as exc:
            problem = f"unreadable report {path}: {exc}"
    if report is None:
        reason = (
            f"crawl exceeded {timeout_s}s and was stopped"
            if timed_out
            else problem or f"crawl process exited with status {returncode} and wrote no report"
        )
        tail = _log_tail(log_path)
        return _failed(
            source,
            pass_id,
            started_at,
            "timeout" if timed_out else "parse" if problem else "process",
            f"{reason}. Log: {log_path}\n{tail}",
        )
    if timed_out:
        report.ok = False
        report.errors.append(SourceError(kind="timeout", message=f"crawl exceeded {timeout_s}s and was stopped"))
    elif returncode != 0:
        report.ok = False
        report.errors.append(
            SourceError(kind="process", message=f"exit status {returncode}; log {log_path}\n{_log_tail(log_path)}")
        )
    return report
