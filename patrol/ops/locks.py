"""One worker per source at a time, across processes: `patrol run`, a second `patrol run`, Airflow tasks.

The lock is an exclusive `flock` on `<data_dir>/locks/source-<id>.lock`. The kernel releases it
when its holder exits in any way, SIGKILL included, so a crashed pass never leaves a stale lock.
The holder writes who it is into the file, so a refused caller can say who is working the source.
Attempts never wait: a source another process works is skipped this time and tried again later.

The crawl subprocess keeps its own lock (`state/<id>.lock`, see `crawlers.pipelines`); this one
also covers the stages after the crawl, which run in the pass process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from patrol.schema import utcnow


class SourceBusy(RuntimeError):
    """Another process (or thread) works this source now; try again later."""

    def __init__(self, source_id: str, path: Path, holder: dict[str, object] | None) -> None:
        who = "another worker"
        if holder:
            since = holder.get("since")
            who = f"pid {holder.get('pid')} on {holder.get('host')} ({holder.get('purpose')}, since {since})"
        super().__init__(
            f"source {source_id!r} is being worked by {who}; lock {path}. It is skipped this time and tried"
            " again at its next turn; if no such process exists, the lock is free already"
        )
        self.source_id = source_id
        self.holder = holder or {}


def lock_path(data_dir: Path, source_id: str) -> Path:
    return data_dir / "locks" / f"source-{source_id}.lock"


def _read_holder(fd: int) -> dict[str, object] | None:
    try:
        raw = os.pread(fd, 4096, 0)
        value = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@contextmanager
def source_lock(data_dir: Path, source_id: str, *, purpose: str) -> Iterator[None]:
    """Hold the source's lock for the body; raises `SourceBusy` at once when someone else holds it."""
    path = lock_path(data_dir, source_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_holder(fd)
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise SourceBusy(source_id, path, holder) from None
        raise
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": purpose,
            "since": utcnow().isoformat(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # releases the flock


def lock_holder(data_dir: Path, source_id: str) -> dict[str, object] | None:
    """Who holds the source's lock now, or None when it is free."""
    path = lock_path(data_dir, source_id)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return _read_holder(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
