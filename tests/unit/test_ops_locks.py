"""The per-source lock: exclusive across threads and processes, says who holds it, and is freed
when its holder dies, however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from patrol.ops.locks import SourceBusy, lock_holder, lock_path, source_lock

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_second_holder_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    with source_lock(tmp_path, "forum", purpose="crawl, pass p1"):
        with pytest.raises(SourceBusy) as refused, source_lock(tmp_path, "forum", purpose="crawl, pass p2"):
            pass
        assert refused.value.holder["pid"] == os.getpid()
        assert "crawl, pass p1" in str(refused.value)
        assert lock_holder(tmp_path, "forum") == refused.value.holder
        with source_lock(tmp_path, "weibo", purpose="other source"):
            pass  # other sources are not affected
    assert lock_holder(tmp_path, "forum") is None
    with source_lock(tmp_path, "forum", purpose="again"):
        pass


def _holder(tmp_path: Path) -> subprocess.Popen[str]:
    code = f"""
        import sys, time
        from pathlib import Path
        from patrol.ops.locks import source_lock
        with source_lock(Path({str(tmp_path)!r}), "forum", purpose="airflow task"):
            print("held", flush=True)
            time.sleep(60)
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_lock_held_by_another_process_is_freed_when_it_is_killed(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    try:
        with pytest.raises(SourceBusy, match="airflow task"), source_lock(tmp_path, "forum", purpose="pass"):
            pass
        assert (lock_holder(tmp_path, "forum") or {}).get("purpose") == "airflow task"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 5
    while lock_holder(tmp_path, "forum") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    with source_lock(tmp_path, "forum", purpose="pass"):
        assert lock_path(tmp_path, "forum").exists()
