"""Continuous mode (`patrol run --interval N`): every source on its own schedule, until told to stop.

Each source is crawled every `interval_s` of its entry in the sources file (entries without one
use `--interval`), then its batches are processed at once (see `patrol.ops.passrun`). Turns of
different sources overlap (`workers` at a time); a sweep every `--interval` picks up what no turn
covers (batches a crash left, due notifications and scheme digests). The sources file is re-read
when it changes; a file that no longer parses is reported and the previous sources stay.

A source whose turn fails (crawl not ok, or an exception) is retried after a growing wait
(`BackoffPolicy`); the other sources go on. A source another process is working (its lock is held)
is tried again shortly, without counting as a failure. Every turn updates
`<data_dir>/ops/scheduler-status.json`, the metrics and the log.

Stopping (`stop` set, e.g. by SIGTERM): no new turn starts, running crawls are asked to shut down
(they land what they fetched), a running batch finishes its stages, and `run` returns.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from crawlers.sources import SourceConfig, SourcesFileError, load_sources
from patrol.ops.backoff import BackoffPolicy, SourceHealth
from patrol.ops.logcontext import log_context
from patrol.ops.passrun import PassRunner, SourceTurn
from patrol.passes import new_pass_id
from patrol.schema import utcnow

log = logging.getLogger("patrol.ops.scheduler")

#: Seconds before a source that another process holds is tried again.
BUSY_RETRY_S = 30.0


def status_path(data_dir: Path) -> Path:
    return data_dir / "ops" / "scheduler-status.json"


def read_status(data_dir: Path) -> list[SourceHealth]:
    """The last status the continuous scheduler wrote (empty when it never ran here)."""
    path = status_path(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [SourceHealth.model_validate(entry) for entry in raw.get("sources", [])]


@dataclass
class _Track:
    source: SourceConfig
    health: SourceHealth
    due: float  # monotonic seconds
    running: bool = False
    future: Future[None] | None = field(default=None, repr=False)


def interval_of(source: SourceConfig, default_interval_s: float) -> float:
    """The entry's own `interval_s` when the file sets one, else the command line's `--interval`."""
    return float(source.interval_s) if "interval_s" in source.model_fields_set else float(default_interval_s)


class ContinuousScheduler:
    def __init__(
        self,
        runner: PassRunner,
        sources_file: Path,
        *,
        default_interval_s: float,
        backoff: BackoffPolicy | None = None,
        tick_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if default_interval_s <= 0:
            raise ValueError("--interval must be a positive number of seconds")
        self.runner = runner
        self.sources_file = sources_file
        self.default_interval_s = default_interval_s
        self.backoff = backoff or BackoffPolicy()
        self.tick_s = tick_s
        self.clock = clock
        self.heartbeat = clock()
        self._tracks: dict[str, _Track] = {}
        self._lock = threading.Lock()
        self._sources_mtime: float | None = None
        self._next_sweep = clock()
        self._sweeping: Future[None] | None = None
        self.status_file = status_path(runner.runtime.settings.data_dir)

    @property
    def stop(self) -> threading.Event:
        return self.runner.stop

    # -- sources ------------------------------------------------------------------------------

    def _reload_sources(self) -> None:
        try:
            mtime = self.sources_file.stat().st_mtime
        except OSError as exc:
            if self._sources_mtime is None:
                raise SourcesFileError(f"{self.sources_file}: cannot read the sources file ({exc})") from exc
            return
        if mtime == self._sources_mtime:
            return
        try:
            sources = [s for s in load_sources(self.sources_file) if s.enabled]
        except SourcesFileError:
            if self._sources_mtime is None:
                raise
            log.error("sources file changed but is not valid; keeping the previous sources", exc_info=True)
            self._sources_mtime = mtime
            return
        self._sources_mtime = mtime
        now = self.clock()
        with self._lock:
            wanted = {s.id: s for s in sources}
            for gone in sorted(set(self._tracks) - set(wanted)):
                log.info("source removed from the schedule", extra={"source_id": gone})
                del self._tracks[gone]
            for source in sources:
                interval = interval_of(source, self.default_interval_s)
                track = self._tracks.get(source.id)
                if track is None:
                    health = SourceHealth(source_id=source.id, interval_s=interval)
                    self._tracks[source.id] = _Track(source=source, health=health, due=now)
                    log.info("source scheduled", extra={"source_id": source.id, "interval_s": interval})
                else:
                    track.source = source
                    track.health.interval_s = interval
        self._write_status()

    # -- turns --------------------------------------------------------------------------------

    def _turn(self, track: _Track) -> None:
        if self.stop.is_set():  # queued before the stop signal: do not start a crawl now
            with self._lock:
                track.running = False
            return
        pass_id = new_pass_id()
        started = self.clock()
        track.health.last_started_at = utcnow()
        with log_context(pass_id=pass_id, source_id=track.source.id):
            turn: SourceTurn | None = None
            crash: str | None = None
            try:
                turn = self.runner.run_source(track.source, pass_id)
            except Exception as exc:  # run_source reports failures; this is a bug, but the loop goes on
                log.exception("source turn crashed")
                crash = f"{type(exc).__name__}: {exc}"
            self._after_turn(track, turn, crash, self.clock() - started)

    def _after_turn(
        self, track: _Track, turn: SourceTurn | None, crash: str | None, duration_s: float
    ) -> None:
        health = track.health
        now_wall = utcnow()
        health.turns += 1
        health.last_finished_at = now_wall
        if turn is not None and turn.busy:
            health.busy_skips += 1
            delay = min(BUSY_RETRY_S, health.interval_s)
            log.info(
                "source busy in another process; trying again soon",
                extra={"source_id": track.source.id, "retry_in_s": delay},
            )
        elif turn is not None and turn.ok:
            health.consecutive_failures = 0
            health.failing = False
            health.last_error = None
            health.last_success_at = now_wall
            delay = health.interval_s
        else:
            health.consecutive_failures += 1
            health.last_error = crash or (turn.failure_reason if turn is not None else "unknown")
            health.failing = self.backoff.is_reported(health.consecutive_failures)
            delay = self.backoff.delay_s(track.source.id, health.interval_s, health.consecutive_failures)
            extra = {
                "source_id": track.source.id,
                "failures": health.consecutive_failures,
                "retry_in_s": round(delay, 1),
                "last_error": health.last_error,
            }
            if health.failing:
                log.error("source keeps failing; backing off", extra=extra)
            else:
                log.warning("source turn failed; will retry", extra=extra)
        health.next_attempt_at = now_wall + timedelta(seconds=delay)
        with self._lock:
            track.due = self.clock() + delay
            track.running = False
        metrics = self.runner.metrics
        if metrics is not None:
            if turn is not None and not turn.busy:
                metrics.observe_pass(ok=turn.ok, duration_s=duration_s)
            metrics.observe_source_health(
                track.source.id,
                failures=health.consecutive_failures,
                next_attempt=health.next_attempt_at,
                last_success=health.last_success_at,
            )
        self._write_status()

    def _sweep(self) -> None:
        if self.stop.is_set():
            return
        with log_context(pass_id=f"sweep-{new_pass_id()}"):
            try:
                self.runner.sweep()
            except Exception:
                log.exception("sweep failed; retrying at the next one")

    # -- the loop -----------------------------------------------------------------------------

    def run(self, *, until: Callable[[], bool] | None = None) -> None:
        """Run turns until `stop` is set (or `until()` says so); returns once running work finished."""
        self._reload_sources()
        log.info("continuous mode started", extra={"sources": sorted(self._tracks), "pid": os.getpid()})
        with ThreadPoolExecutor(max_workers=self.runner.workers, thread_name_prefix="patrol-turn") as pool:
            # A crash left batches behind? Finish them before crawling anything new.
            self._sweeping = pool.submit(self._sweep)
            self._next_sweep = self.clock() + self.default_interval_s
            while not self.stop.is_set() and not (until is not None and until()):
                self.heartbeat = self.clock()
                self._reload_sources()
                self._start_due_turns(pool)
                self.stop.wait(self.tick_s)
            self.heartbeat = self.clock()
            log.info("continuous mode stopping: waiting for running turns", extra={"running": self.running()})
        self._write_status()
        log.info("continuous mode stopped")

    def _start_due_turns(self, pool: ThreadPoolExecutor) -> None:
        now = self.clock()
        with self._lock:
            due = [t for t in self._tracks.values() if not t.running and t.due <= now]
            for track in sorted(due, key=lambda t: t.due):
                track.running = True
                track.future = pool.submit(self._turn, track)
        sweeping = self._sweeping is not None and not self._sweeping.done()
        if now >= self._next_sweep and not sweeping:
            self._next_sweep = now + self.default_interval_s
            self._sweeping = pool.submit(self._sweep)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(t.source.id for t in self._tracks.values() if t.running)

    def health(self) -> list[SourceHealth]:
        with self._lock:
            return [t.health.model_copy() for t in sorted(self._tracks.values(), key=lambda t: t.source.id)]

    def seconds_since_heartbeat(self) -> float:
        return self.clock() - self.heartbeat

    def _write_status(self) -> None:
        payload = {
            "pid": os.getpid(),
            "written_at": utcnow().isoformat(),
            "stopping": self.stop.is_set(),
            "sources": [h.model_dump(mode="json") for h in self.health()],
        }
        self.status_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.status_file.with_name(f".{self.status_file.name}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.status_file)
