"""Kill points: the spec is checked, a named point dies by SIGKILL on its n-th hit, and takes the
crawl subprocesses with it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from patrol.ops.faults import KILL_ENV, KILL_POINTS, STATEMENT_POINTS, KillSpec, kill_point, parse_kill_spec
from patrol.ops.procs import descendants

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_spec_names_a_point_and_a_hit() -> None:
    assert parse_kill_spec("index.committed:3") == KillSpec("index.committed", 3)
    assert parse_kill_spec("pass.started") == KillSpec("pass.started", 1)
    with pytest.raises(ValueError, match=re.escape("unknown kill point 'index.comitted'")):
        parse_kill_spec("index.comitted:1")
    with pytest.raises(ValueError, match="whole number from 1"):
        parse_kill_spec("index.committed:0")


def test_statement_points_are_kill_points() -> None:
    assert set(STATEMENT_POINTS) <= set(KILL_POINTS)


def test_unarmed_point_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KILL_ENV, raising=False)
    kill_point("pass.started")
    monkeypatch.setenv(KILL_ENV, "pass.finished:1")
    kill_point("pass.started")  # another point is armed


def _run(code: str, spec: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, KILL_ENV: spec, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60
    )


def test_dies_by_sigkill_on_the_nth_hit() -> None:
    done = _run(
        """
        from patrol.ops.faults import kill_point
        for n in range(1, 6):
            print(n, flush=True)
            kill_point("batch.done")
        print("survived", flush=True)
        """,
        "batch.done:3",
    )
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["1", "2", "3"]
    assert "kill point batch.done reached" in done.stderr


def test_child_processes_die_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    done = _run(
        f"""
        import subprocess, time
        from patrol.ops.faults import kill_point
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(0.2)
        kill_point("crawl.started")
        """,
        "crawl.started",
    )
    assert done.returncode == -signal.SIGKILL
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and deadline > time.monotonic():
        status = Path(f"/proc/{child}/status").read_text() if Path(f"/proc/{child}").exists() else ""
        if "zombie" in status:  # killed, waiting for init to reap it
            break
        time.sleep(0.05)
    alive = (
        Path(f"/proc/{child}/status").exists() and "zombie" not in Path(f"/proc/{child}/status").read_text()
    )
    assert not alive, "the crawl subprocess outlived the killed pass"


def test_descendants_lists_children_and_grandchildren() -> None:
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 5
        while len(descendants(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(descendants(parent.pid)) == 2
        assert {parent.pid} <= set(descendants())
    finally:
        for pid in [*descendants(parent.pid), parent.pid]:
            os.kill(pid, signal.SIGKILL)
        parent.wait()
