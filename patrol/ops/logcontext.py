"""The pass id and source id on every log line a pass writes, without passing them to every call.

`log_context(pass_id=..., source_id=...)` sets them for the current thread (context variables);
`PassContextFilter` copies them onto each record that does not carry its own, so the JSON lines of
`patrol.logs.JsonLineFormatter` always say which pass and source they belong to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_PASS_ID: ContextVar[str | None] = ContextVar("patrol_pass_id", default=None)
_SOURCE_ID: ContextVar[str | None] = ContextVar("patrol_source_id", default=None)


@contextmanager
def log_context(*, pass_id: str | None = None, source_id: str | None = None) -> Iterator[None]:
    tokens = []
    if pass_id is not None:
        tokens.append((_PASS_ID, _PASS_ID.set(pass_id)))
    if source_id is not None:
        tokens.append((_SOURCE_ID, _SOURCE_ID.set(source_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class PassContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        pass_id, source_id = _PASS_ID.get(), _SOURCE_ID.get()
        if pass_id is not None and not hasattr(record, "pass_id"):
            record.pass_id = pass_id
        if source_id is not None and not hasattr(record, "source_id"):
            record.source_id = source_id
        return True


def install_pass_context(logger_name: str = "patrol") -> None:
    """Add the filter to the handlers of `logger_name` (call after `configure_logging`)."""
    for handler in logging.getLogger(logger_name).handlers:
        if not any(isinstance(f, PassContextFilter) for f in handler.filters):
            handler.addFilter(PassContextFilter())
