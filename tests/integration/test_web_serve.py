"""Starting the console: `patrol serve` as a process, and the demo's console thread with one login
per role, over real HTTP on loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from patrol.config import load_settings
from patrol.web.demo import DEMO_ACCOUNTS, ensure_demo_users, start_console_in_thread

HOME = {
    "patrol_officer": "/queue",
    "reviewer": "/queue",
    "field_unit": "/my-tasks",
    "analyst": "/trends",
    "admin": "/admin",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def log_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token is not None
    return client.post("/login", data={"username": username, "password": password, "login_csrf": token.group(1)})


def test_demo_console_has_a_working_login_for_every_role(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    logins = ensure_demo_users(settings)
    assert [role for role, _, _ in logins] == [role.value for role, _ in DEMO_ACCOUNTS]
    assert ensure_demo_users(settings) == logins, "the same logins on the next run"
    assert oct((tmp_path / "data" / "demo-logins.json").stat().st_mode & 0o777) == "0o600"
    url, stop = start_console_in_thread(settings, "127.0.0.1", 0)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        for role, username, password in logins:
            with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
                landed = log_in(client, username, password)
                assert landed.status_code == 200 and landed.url.path == HOME[role], (role, landed.url)
                assert f"{username}" in landed.text or role in landed.text
    finally:
        stop()


def test_patrol_serve_runs_the_console_in_the_foreground(tmp_path: Path) -> None:
    port = free_port()
    script = "import typer; from patrol.commands.serve import serve; typer.run(serve)"
    env = {**os.environ, "PATROL_DATA_DIR": str(tmp_path / "data")}
    child = subprocess.Popen(
        [sys.executable, "-c", script, "--port", str(port), "--no-worker", "--secure-cookies", "never"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                if child.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"patrol serve did not start: {child.stdout.read().decode() if child.stdout else ''}")
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        login_page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert "content-security-policy" in login_page.headers and 'name="login_csrf"' in login_page.text
        api = httpx.get(f"http://127.0.0.1:{port}/api/v1/items", timeout=5)
        assert api.status_code == 401, "the JSON API answers beside the pages"
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=30)
