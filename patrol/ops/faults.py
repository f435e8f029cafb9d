"""Kill points: named places where a fault-injection run dies by SIGKILL, to prove passes crash-safe.

`PATROL_KILL_AT=<point>:<n>` makes the process SIGKILL itself (and the crawl subprocesses it
started, as a machine or container crash would) the n-th time it reaches `<point>` (`:<n>` may be
left out: the first time). Unset, every kill point is one dictionary lookup.

Three kinds of point:

- code points: `kill_point("analyse.renamed")` calls in the stage functions and the pass runner;
- statement points: `arm_statement_kill_points(runtime)` watches the SQL the store, the ledger and
  the workflow database execute and dies before the n-th matching statement, inside its open
  transaction (mid-index, mid-flag);
- crawl points: `watch_crawl(...)` watches the landing folder while a crawl subprocess runs and dies
  when it sees a batch being written or one landed mid-crawl.

`tests/integration/test_fault_injection.py` runs a pass killed at every point in `KILL_POINTS`,
restarts it, and checks that nothing was lost or doubled.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from patrol.ops.procs import signal_descendants

if TYPE_CHECKING:
    from patrol.runtime import Runtime

KILL_ENV = "PATROL_KILL_AT"

#: Every kill point, in pipeline order, with where it is.
KILL_POINTS: dict[str, str] = {
    "pass.started": "a pass began, before any crawl",
    "crawl.started": "the source lock is held, the crawl subprocess is about to start",
    "crawl.batch_writing": "mid-crawl: a landing batch is being written (.jsonl.tmp, part of its lines)",
    "crawl.batch_landed": "mid-crawl: a landing batch was renamed into place while the crawl goes on",
    "crawl.finished": "the crawl ended; its report and batches are not yet in the ledger",
    "batches.discovered": "landing batches registered in the ledger, none processed yet",
    "analyse.started": "the analyse stage begins a batch",
    "analyse.chunk_written": "mid-analysis: part of the analysed batch is in its temporary file",
    "fastpath.committed": "life-safety items of an analysed chunk committed ahead of their batch",
    "analyse.renamed": "the analysed batch is in place; the ledger does not know yet",
    "index.row": "mid-index: inside the store's upsert transaction, before a post row is written",
    "index.committed": "the store committed the batch; the ledger does not know yet",
    "flag.item_row": "mid-flag: inside the flag transaction, before a review item row is written",
    "flag.audit_row": "mid-flag: inside the flag transaction, before an audit row is written",
    "flag.outbox_row": "mid-flag: inside the flag transaction, before a life-safety page is queued",
    "flag.committed": "the flag transaction committed (items, audit, outbox); nothing notified yet",
    "schemes.matched": "monitoring schemes matched; the batch is not yet marked done",
    "ledger.flagged_row": "before the ledger's statement that marks the batch done",
    "batch.done": "a batch is marked done; the next batch has not started",
    "notify.sending": "between commit and notification: a delivery is leased, not yet sent",
    "notify.sent": "the receiver has the notification; the delivery is not yet recorded as sent",
    "alerts.started": "scheme digests and spikes are about to be sent",
    "pass.finished": "the pass is complete, before its summary is printed",
}

#: Statement points: which connection, and the start of the SQL statement they die before.
STATEMENT_POINTS: dict[str, tuple[str, str]] = {
    "index.row": ("store", "INSERT INTO posts "),
    "flag.item_row": ("workflow", "INSERT INTO review_items "),
    "flag.audit_row": ("workflow", "INSERT INTO audit_log "),
    "flag.outbox_row": ("workflow", "INSERT INTO outbox_events "),
    "ledger.flagged_row": ("ledger", "UPDATE batches SET flagged_at"),
}

CRAWL_POINTS = frozenset({"crawl.batch_writing", "crawl.batch_landed"})


@dataclass(frozen=True)
class KillSpec:
    point: str
    hit: int = 1


def parse_kill_spec(text: str) -> KillSpec:
    point, _, count = text.strip().partition(":")
    if point not in KILL_POINTS:
        raise ValueError(
            f"{KILL_ENV}={text!r}: unknown kill point {point!r}; use one of {sorted(KILL_POINTS)}"
        )
    if count and (not count.isdigit() or int(count) < 1):
        raise ValueError(f"{KILL_ENV}={text!r}: the hit count after ':' must be a whole number from 1")
    return KillSpec(point, int(count) if count else 1)


def armed_spec() -> KillSpec | None:
    text = os.environ.get(KILL_ENV)
    return parse_kill_spec(text) if text else None


class _Hits:
    """How often this process reached each point (a process dies at most once, so no reset)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def bump(self, point: str) -> int:
        with self._lock:
            self._counts[point] += 1
            return self._counts[point]


_HITS = _Hits()


def die(point: str) -> NoReturn:
    """SIGKILL the crawl subprocesses, then this process: nothing gets to clean up."""
    sys.stderr.write(f"kill point {point} reached: SIGKILL\n")
    sys.stderr.flush()
    signal_descendants(signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
    raise SystemExit(137)  # not reached; keeps type checkers honest


def kill_point(point: str) -> None:
    """Die here when `PATROL_KILL_AT` names this point and this is its n-th hit."""
    if KILL_ENV not in os.environ:
        return
    spec = armed_spec()
    if spec is not None and spec.point == point and _HITS.bump(point) == spec.hit:
        die(point)


# -- statement points ---------------------------------------------------------------------------


def _sqlite_connection(part: Any) -> Any:
    # Test harness only: reach the sqlite3 connection of the store (or its SQLite primary) and ledger.
    primary = getattr(part, "primary", part)
    return getattr(primary, "_conn", None)


def arm_statement_kill_points(runtime: Runtime) -> bool:
    """Watch the SQL of the armed statement point, if any; True when a watch was installed."""
    spec = armed_spec()
    if spec is None or spec.point not in STATEMENT_POINTS:
        return False
    target, prefix = STATEMENT_POINTS[spec.point]
    point = spec.point

    def check(statement: str) -> None:
        if statement.lstrip().startswith(prefix):
            kill_point(point)

    if target == "workflow":
        from sqlalchemy import event

        def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            check(statement)

        event.listen(runtime.workflow.engine, "before_cursor_execute", before_execute)
        return True
    connection = _sqlite_connection(runtime.store if target == "store" else runtime.ledger)
    if connection is None:
        raise RuntimeError(f"kill point {point}: the {target} is not SQLite; statement points need SQLite")
    connection.set_trace_callback(check)
    return True


# -- crawl points -------------------------------------------------------------------------------


def _watch_landing(landing_dir: Path, pass_id: str, point: str, stop: threading.Event) -> None:
    seen: set[str] = set()
    while not stop.wait(0.01):
        if point == "crawl.batch_writing":
            found = [p for p in landing_dir.glob(f"{pass_id}-*.jsonl.tmp") if _non_empty(p)]
        else:
            found = list(landing_dir.glob(f"{pass_id}-*.jsonl"))
        for path in sorted(found):
            if path.name not in seen:
                seen.add(path.name)
                kill_point(point)


def _non_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


@contextmanager
def watch_crawl(landing_dir: Path, pass_id: str) -> Iterator[None]:
    """While the body runs a crawl, die when the armed crawl point shows in the landing folder."""
    spec = armed_spec() if KILL_ENV in os.environ else None
    if spec is None or spec.point not in CRAWL_POINTS:
        yield
        return
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch_landing,
        args=(landing_dir, pass_id, spec.point, stop),
        name="kill-point-watch",
        daemon=True,
    )
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
