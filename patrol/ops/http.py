"""A worker's own small HTTP endpoint: `/metrics`, `/healthz`, `/readyz` (`patrol run --metrics-port`).

The standard library's threaded server in a daemon thread: a worker needs no web framework, and
a slow scrape never holds up a pass.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from patrol.ops.health import HealthProbe, HealthReport

log = logging.getLogger("patrol.ops.http")


class _Handler(BaseHTTPRequestHandler):
    server: _OpsServer
    server_version = "patrol-ops"
    sys_version = ""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path == "/metrics":
                self._send(200, self.server.exposition(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._report(self.server.probe.live())
            elif path == "/readyz":
                self._report(self.server.probe.ready())
            else:
                self._send(
                    404, b"not found: try /metrics, /healthz or /readyz\n", "text/plain; charset=utf-8"
                )
        except Exception:  # an endpoint bug must answer 500, not kill the thread silently
            log.exception("ops endpoint failed", extra={"path": path})
            self._send(500, b"internal error (see the worker's log)\n", "text/plain; charset=utf-8")

    def _report(self, report: HealthReport) -> None:
        body = json.dumps(report.model_dump(), ensure_ascii=False).encode("utf-8")
        self._send(200 if report.ok else 503, body, "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds: no access log
        return


class _OpsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], probe: HealthProbe, exposition: Callable[[], bytes]) -> None:
        self.probe = probe
        self.exposition = exposition
        super().__init__(address, _Handler)


class OpsHttpServer:
    """`with OpsHttpServer(probe, metrics.exposition, port=9464) as server: server.url`."""

    def __init__(
        self, probe: HealthProbe, exposition: Callable[[], bytes], *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        try:
            self._server = _OpsServer((host, port), probe, exposition)
        except OSError as exc:
            raise OSError(
                f"cannot serve metrics on {host}:{port}: {exc}; pick another --metrics-port"
            ) from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="patrol-ops-http",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{self.port}"

    def start(self) -> OpsHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpsHttpServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
