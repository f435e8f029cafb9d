"""The processes this process started (crawl subprocesses and theirs), read from /proc.

Crawls run in their own session (so a terminal's Ctrl-C does not tear them mid-write), which means
signals sent to our process group never reach them; the scheduler and the kill points find them here.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PROC = Path("/proc")


def _parent_of(pid_dir: Path) -> int | None:
    try:
        stat = (pid_dir / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; the parent pid follows the state field.
    fields = stat.rpartition(")")[2].split()
    return int(fields[1]) if len(fields) > 1 else None


def descendants(pid: int | None = None) -> list[int]:
    """Pids of every live descendant of `pid` (default: this process), children first."""
    root = os.getpid() if pid is None else pid
    if not PROC.is_dir():
        return []
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        parent = _parent_of(entry)
        if parent is not None:
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    frontier = [root]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found


def signal_descendants(signum: signal.Signals, pid: int | None = None) -> list[int]:
    """Send `signum` to every descendant; returns the pids it was sent to."""
    sent = []
    for child in descendants(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signum)
            sent.append(child)
    return sent


def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid` (VmRSS), or None when the process is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None
