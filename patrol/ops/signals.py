"""SIGTERM and SIGINT: finish the current stage, then exit cleanly; a second signal exits at once.

On the first signal the stop event is set and the running crawl subprocesses get SIGTERM (they
run in their own session, so a terminal's Ctrl-C does not reach them): Scrapy then closes the
spider gracefully, landing what it fetched and writing its report. Everything not yet done stays
pending in the ledger and is finished by the next start. A second signal means "now": the process
exits with 128 + the signal number, which is as safe as a crash (see the fault-injection test).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

from patrol.ops.procs import signal_descendants

log = logging.getLogger("patrol.ops.signals")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulStop:
    """Installs the handlers in the main thread; `restore()` puts the previous ones back."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self._previous: dict[int, Any] = {}

    def install(self) -> GracefulStop:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            log.warning(
                "second stop signal: exiting now; unfinished batches resume on the next start",
                extra={"signal": name},
            )
            os._exit(128 + signum)
        self.stop.set()
        crawls = signal_descendants(signal.SIGTERM)
        log.info(
            "stop signal: finishing the current stage, then exiting",
            extra={"signal": name, "crawls_asked_to_stop": len(crawls)},
        )
