"""Every log line a pass writes carries its pass id and source id, as JSON."""

from __future__ import annotations

import json
import logging

import pytest

from patrol.logs import configure_logging
from patrol.ops.logcontext import install_pass_context, log_context


def test_pass_and_source_ids_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    install_pass_context()
    log = logging.getLogger("patrol.stages")
    with log_context(pass_id="20261128T100000Z-abc123"):
        log.info("pass begins")
        with log_context(source_id="demo-forum"):
            log.warning("rows rejected", extra={"rejected": 2})
        log.info("explicit", extra={"source_id": "demo-weibo"})
    log.info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(e.get("pass_id"), e.get("source_id")) for e in lines] == [
        ("20261128T100000Z-abc123", None),
        ("20261128T100000Z-abc123", "demo-forum"),
        ("20261128T100000Z-abc123", "demo-weibo"),
        (None, None),
    ]
    assert lines[1]["rejected"] == 2 and lines[1]["level"] == "warning"
