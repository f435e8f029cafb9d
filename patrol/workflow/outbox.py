"""The transactional outbox: notifications are rows written in the same transaction as the change.

If the transaction rolls back, no notification exists; if it commits, the delivery worker
(`patrol.workflow.delivery`) will send it, however long after and whatever crashed in between.
Each event is fanned out, at write time, to one delivery per matching channel; the pair
(event, channel) is unique and doubles as the idempotency key the receiver sees.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.workflow.errors import InvalidInput, NotFound
from patrol.workflow.ids import new_id
from patrol.workflow.models import NotificationChannel, OutboxDelivery, OutboxEvent

#: Topics the workflow emits; a channel subscribes with fnmatch patterns such as `task.*`.
TOPICS: dict[str, str] = {
    "item.life_safety": "a new life-safety review item (violence_threat, self_harm): page the duty officer",
    "item.ack_breached": "a life-safety item was not acknowledged in time: page the duty supervisor",
    "task.assigned": "a verification task was assigned (or reassigned, or reopened) to a unit",
    "task.sla_breached": "a verification task missed an SLA target: page the duty supervisor",
    "task.completed": "a verification task was completed with an outcome",
    "task.cancelled": "a verification task was cancelled",
    "shift.handover": "a shift ended and its handover is ready for the incoming shift",
    "handover.ack_breached": "the incoming shift has not acknowledged the handover in time",
    "scheme.match": "a monitoring scheme found a new post (one alert per near-duplicate group)",
    "scheme.digest": "a monitoring scheme's hourly or daily summary of what it found",
    "scheme.spike": "a monitoring scheme found far more posts in an hour than it usually does",
    "report.weekly": "the weekly opinion-trend report was built and stored",
}


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://", description="receiver URL; JSON is POSTed to it")
    secret: str = Field(min_length=16, description="shared secret for the HMAC-SHA256 signature")
    timeout_s: float = Field(10.0, gt=0, le=120)


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(25, gt=0, lt=65536)
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[str] = Field(default_factory=list, description="fixed recipients")
    to_recipient: bool = Field(False, description="also send to the event's recipient (e.g. the duty supervisor)")
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


ChannelKind = Literal["webhook", "email"]


def parse_channel_config(kind: str, config: dict[str, Any]) -> WebhookConfig | EmailConfig:
    model: type[WebhookConfig] | type[EmailConfig]
    if kind == "webhook":
        model = WebhookConfig
    elif kind == "email":
        model = EmailConfig
    else:
        raise InvalidInput(f"unknown channel kind {kind!r}; use webhook or email")
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"{kind} channel config: {fields}") from exc


def _split_topics(topics: str) -> list[str]:
    return [t.strip() for t in topics.split(",") if t.strip()]


def channel_matches(channel: NotificationChannel, topic: str, unit_id: str | None) -> bool:
    if not channel.active:
        return False
    if channel.unit_id is not None and channel.unit_id != unit_id:
        return False
    return any(fnmatch.fnmatchcase(topic, pattern) for pattern in _split_topics(channel.topics))


def add_channel(
    session: Session,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    topics: list[str],
    at: datetime,
    unit_id: str | None = None,
) -> NotificationChannel:
    parsed = parse_channel_config(kind, config)
    if not topics:
        raise InvalidInput("a channel needs at least one topic pattern, e.g. 'task.*' or '*'")
    for pattern in topics:
        if not any(fnmatch.fnmatchcase(t, pattern) for t in TOPICS):
            raise InvalidInput(f"topic pattern {pattern!r} matches no topic; topics are {sorted(TOPICS)}")
    if session.scalar(select(NotificationChannel.id).where(NotificationChannel.name == name)):
        raise InvalidInput(f"a channel named {name!r} exists; pick another name or delete it first")
    channel = NotificationChannel(
        id=new_id("ch"),
        name=name,
        kind=kind,
        config_json=parsed.model_dump_json(),
        topics=",".join(topics),
        unit_id=unit_id,
        active=True,
        created_at=at,
    )
    session.add(channel)
    session.flush()
    return channel


def deactivate_channel(session: Session, channel_id: str) -> NotificationChannel:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None:
        raise NotFound(f"no channel {channel_id}")
    channel.active = False
    return channel


def enqueue_notification(
    session: Session,
    *,
    topic: str,
    key: str,
    payload: dict[str, Any],
    at: datetime,
    unit_id: str | None = None,
    recipient_email: str | None = None,
) -> OutboxEvent | None:
    """Write an event and its deliveries; None when an event with this key already exists."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if session.scalar(select(OutboxEvent.id).where(OutboxEvent.idempotency_key == key)) is not None:
        return None
    event = OutboxEvent(
        id=new_id("ev"),
        idempotency_key=key,
        topic=topic,
        payload_json=json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str),
        unit_id=unit_id,
        recipient_email=recipient_email,
        created_at=at,
    )
    session.add(event)
    session.flush()
    channels = session.scalars(select(NotificationChannel).where(NotificationChannel.active.is_(True))).all()
    for channel in channels:
        if channel_matches(channel, topic, unit_id):
            session.add(
                OutboxDelivery(
                    event_id=event.id, channel_id=channel.id, status="pending", attempts=0, next_attempt_at=at
                )
            )
    session.flush()
    return event
