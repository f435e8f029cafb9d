"""Webhook signatures, retry backoff and which channel gets which event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patrol.workflow.delivery import RetryPolicy, sign_webhook, verify_webhook_signature
from patrol.workflow.errors import InvalidInput
from patrol.workflow.models import NotificationChannel
from patrol.workflow.outbox import channel_matches, parse_channel_config

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
SECRET = "0123456789abcdef-secret"


def test_signature_covers_body_and_time() -> None:
    body = b'{"id":"ev-1","topic":"item.life_safety"}'
    header = sign_webhook(SECRET, int(NOW.timestamp()), body)
    assert verify_webhook_signature(SECRET, body, header, now=NOW)
    assert not verify_webhook_signature(SECRET, body.replace(b"ev-1", b"ev-2"), header, now=NOW)
    assert not verify_webhook_signature("another-secret-of-16", body, header, now=NOW)
    assert not verify_webhook_signature(SECRET, body, header, now=NOW + timedelta(minutes=6)), "replayed later"
    assert not verify_webhook_signature(SECRET, body, "v1=deadbeef", now=NOW)


def test_backoff_doubles_up_to_the_cap_with_a_little_jitter() -> None:
    retry = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=5))
    delays = [retry.delay(7, attempt) for attempt in range(1, 10)]
    assert delays == [retry.delay(7, attempt) for attempt in range(1, 10)], "deterministic"
    for attempt, delay in enumerate(delays, start=1):
        raw = min(timedelta(minutes=5), timedelta(seconds=10) * 2 ** (attempt - 1))
        assert raw <= delay <= raw * 1.2
    assert delays[-1] <= timedelta(minutes=6)


def _channel(topics: str, unit_id: str | None = None, active: bool = True) -> NotificationChannel:
    return NotificationChannel(
        id="ch-1",
        name="c",
        kind="webhook",
        config_json="{}",
        topics=topics,
        unit_id=unit_id,
        active=active,
        created_at=NOW,
    )


def test_channels_match_topic_patterns_and_their_unit() -> None:
    assert channel_matches(_channel("item.*,task.sla_breached"), "task.sla_breached", None)
    assert not channel_matches(_channel("item.*"), "task.assigned", "xf-heping")
    assert channel_matches(_channel("task.*", unit_id="xf-heping"), "task.assigned", "xf-heping")
    assert not channel_matches(_channel("task.*", unit_id="xf-heping"), "task.assigned", "dl-qunli")
    assert not channel_matches(_channel("*", active=False), "task.assigned", None)


def test_channel_config_is_validated() -> None:
    with pytest.raises(InvalidInput, match="secret"):
        parse_channel_config("webhook", {"url": "https://hooks.example/patrol", "secret": "short"})
    with pytest.raises(InvalidInput, match="url"):
        parse_channel_config("webhook", {"url": "ftp://x", "secret": SECRET})
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        parse_channel_config("email", {"smtp_host": "mail", "from_address": "p@x.cn", "to": ["nobody"]})
    with pytest.raises(InvalidInput, match="unknown channel kind"):
        parse_channel_config("sms", {})
