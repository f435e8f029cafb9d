"""Login rate limiting: too many failed logins from one address, or for one account, wait a while.

This sits in front of the password check, so a guessing run is slowed down before argon2 is even
asked; the workflow's own lockout (10 failures lock an account for 15 minutes) stays behind it.
Kept in memory: one console process; behind several processes each limits on its own.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class LoginRateLimiter:
    max_failures_per_address: int = 20
    max_failures_per_account: int = 5
    window: timedelta = timedelta(minutes=5)
    _failures: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, address: str, username: str) -> list[tuple[str, int]]:
        return [
            (f"addr:{address}", self.max_failures_per_address),
            (f"user:{username.strip().lower()}", self.max_failures_per_account),
        ]

    def _prune(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures[key]
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str, username: str, *, now: datetime) -> int:
        """Seconds to wait before another attempt is allowed; 0 when one is allowed now."""
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(address, username):
                times = self._prune(key, now)
                if len(times) >= limit:
                    wait = max(wait, (times[0] + self.window - now).total_seconds())
        return max(0, int(wait) + (1 if wait > int(wait) else 0))

    def failed(self, address: str, username: str, *, now: datetime) -> None:
        with self._lock:
            for key, _ in self._keys(address, username):
                self._prune(key, now).append(now)

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.strip().lower()}", None)
