"""The outbox worker: sends pending deliveries to webhooks and SMTP, with retries and backoff.

Delivery is at-least-once with an idempotency key, which receivers use to act once:

1. lease: in one short transaction, take due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
   so several workers never take the same row), count the attempt and set a lease expiry;
2. send, outside any transaction, with the event id as `Idempotency-Key` (webhooks) or
   `Message-ID` (e-mail);
3. record the result: delivered, or a retry time with exponential backoff, or dead after too many
   attempts or a permanent refusal.

A worker that dies between 1 and 3 leaves the lease to expire; the next run sends again with the
same key, so the receiver still acts once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

import httpx
from pydantic import BaseModel
from sqlalchemy import or_, select, update

from patrol.workflow.clock import Clock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import NotificationChannel, OutboxDelivery, OutboxEvent
from patrol.workflow.outbox import EmailConfig, WebhookConfig, parse_channel_config

log = logging.getLogger("patrol.workflow.delivery")

SIGNATURE_HEADER = "X-Patrol-Signature"


# -- signing ------------------------------------------------------------------------------------


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<unix>." + body>`; the timestamp stops replays of old bodies."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_webhook_signature(secret: str, body: bytes, header: str, *, now: datetime, tolerance_s: int = 300) -> bool:
    """What a receiver runs on each request: the signature matches and is recent."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > tolerance_s:
        return False
    expected = sign_webhook(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# -- senders ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    attempt: int
    event_id: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime
    recipient_email: str | None

    @property
    def idempotency_key(self) -> str:
        return self.event_id

    def body(self) -> bytes:
        document = {
            "id": self.event_id,
            "topic": self.topic,
            "created_at": self.created_at.isoformat(),
            "data": self.payload,
        }
        return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class WebhookSender(Protocol):
    def __call__(self, config: WebhookConfig, message: OutgoingMessage, now: datetime) -> None: ...


class EmailSender(Protocol):
    def __call__(self, config: EmailConfig, message: OutgoingMessage, now: datetime) -> None: ...


_RETRYABLE_STATUS = {408, 425, 429}


def send_webhook(config: WebhookConfig, message: OutgoingMessage, now: datetime) -> None:
    body = message.body()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": message.idempotency_key,
        "X-Patrol-Event": message.topic,
        "X-Patrol-Attempt": str(message.attempt),
        SIGNATURE_HEADER: sign_webhook(config.secret, int(now.timestamp()), body),
    }
    try:
        response = httpx.post(config.url, content=body, headers=headers, timeout=config.timeout_s)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if response.is_success:
        return
    permanent = 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_STATUS
    raise DeliveryFailed(f"receiver answered HTTP {response.status_code}", permanent=permanent)


def _summary(message: OutgoingMessage) -> str:
    data = message.payload
    subject = data.get("summary") or " ".join(
        str(data[k]) for k in ("category", "item_id", "task_id", "shift_id") if data.get(k)
    )
    return f"[patrol] {message.topic}: {subject}".strip()


def send_email(config: EmailConfig, message: OutgoingMessage, now: datetime) -> None:
    recipients = list(config.to)
    if config.to_recipient and message.recipient_email:
        recipients.append(message.recipient_email)
    if not recipients:
        raise DeliveryFailed("no recipients: set `to` or `to_recipient` on the channel", permanent=True)
    mail = EmailMessage()
    mail["From"] = config.from_address
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = _summary(message)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{message.idempotency_key}@opinion-patrol>"
    mail["Idempotency-Key"] = message.idempotency_key
    mail["X-Patrol-Event"] = message.topic
    mail.set_content(json.dumps(json.loads(message.body()), ensure_ascii=False, indent=2))
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_s) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"recipients refused: {sorted(exc.recipients)}", permanent=True) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc


# -- the worker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeasedDelivery:
    message: OutgoingMessage
    channel_id: str
    channel_kind: str
    channel_config: dict[str, Any]


class DeliveryReport(BaseModel):
    leased: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=30)
    max_attempts: int = 12

    def delay(self, delivery_id: int, attempt: int) -> timedelta:
        raw = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        # Deterministic jitter (0-20 %) keeps retries of many deliveries from arriving in lockstep.
        spread = int(hashlib.sha256(f"{delivery_id}:{attempt}".encode()).hexdigest()[:4], 16) / 0xFFFF * 0.2
        return raw * (1 + spread)


class DeliveryWorker:
    def __init__(
        self,
        db: WorkflowDb,
        clock: Clock,
        *,
        webhook: WebhookSender = send_webhook,
        email: EmailSender = send_email,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=2),
        batch_size: int = 50,
    ) -> None:
        self.db = db
        self.clock = clock
        self.webhook = webhook
        self.email = email
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.batch_size = batch_size

    def lease_due(self) -> list[LeasedDelivery]:
        now = self.clock.now()
        with self.db.session() as session:
            rows = (
                session.execute(
                    select(OutboxDelivery, OutboxEvent, NotificationChannel)
                    .join(OutboxEvent, OutboxDelivery.event_id == OutboxEvent.id)
                    .join(NotificationChannel, OutboxDelivery.channel_id == NotificationChannel.id)
                    .where(
                        OutboxDelivery.status == "pending",
                        OutboxDelivery.next_attempt_at <= now,
                        or_(OutboxDelivery.leased_until.is_(None), OutboxDelivery.leased_until <= now),
                    )
                    .order_by(OutboxDelivery.next_attempt_at, OutboxDelivery.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True, of=OutboxDelivery)
                )
                .tuples()
                .all()
            )
            leased = []
            for delivery, event, channel in rows:
                delivery.attempts += 1
                delivery.leased_until = now + self.lease
                leased.append(
                    LeasedDelivery(
                        message=OutgoingMessage(
                            delivery_id=delivery.id,
                            attempt=delivery.attempts,
                            event_id=event.id,
                            topic=event.topic,
                            payload=json.loads(event.payload_json),
                            created_at=event.created_at,
                            recipient_email=event.recipient_email,
                        ),
                        channel_id=channel.id,
                        channel_kind=channel.kind,
                        channel_config=json.loads(channel.config_json),
                    )
                )
            return leased

    def send(self, leased: LeasedDelivery) -> DeliveryFailed | None:
        now = self.clock.now()
        try:
            config = parse_channel_config(leased.channel_kind, leased.channel_config)
            if isinstance(config, WebhookConfig):
                self.webhook(config, leased.message, now)
            else:
                self.email(config, leased.message, now)
        except DeliveryFailed as exc:
            return exc
        except Exception as exc:  # a bad channel must not stop the other deliveries
            return DeliveryFailed(f"{type(exc).__name__}: {exc}", permanent=True)
        return None

    def record(self, leased: LeasedDelivery, failure: DeliveryFailed | None) -> str:
        now = self.clock.now()
        message = leased.message
        # Fencing on the attempt number: a late answer from a lease that expired (and was taken by
        # another run) must not overwrite that run's result.
        same_attempt = (OutboxDelivery.id == message.delivery_id, OutboxDelivery.attempts == message.attempt)
        if failure is None:
            values: dict[str, Any] = {
                "status": "delivered",
                "delivered_at": now,
                "leased_until": None,
                "last_error": None,
            }
            outcome = "delivered"
        elif failure.permanent or message.attempt >= self.retry.max_attempts:
            values = {"status": "dead", "leased_until": None, "last_error": str(failure)[:2000]}
            outcome = "dead"
        else:
            values = {
                "next_attempt_at": now + self.retry.delay(message.delivery_id, message.attempt),
                "leased_until": None,
                "last_error": str(failure)[:2000],
            }
            outcome = "retried"
        with self.db.session() as session:
            session.execute(
                update(OutboxDelivery)
                .where(*same_attempt, OutboxDelivery.status == "pending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        level = logging.WARNING if outcome == "dead" else logging.INFO
        log.log(
            level,
            "delivery %s",
            outcome,
            extra={
                "delivery_id": message.delivery_id,
                "topic": message.topic,
                "channel_id": leased.channel_id,
                "attempt": message.attempt,
                "error": str(failure) if failure else None,
            },
        )
        return outcome

    def run_once(self) -> DeliveryReport:
        report = DeliveryReport()
        leased = self.lease_due()
        report.leased = len(leased)
        for item in leased:
            outcome = self.record(item, self.send(item))
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report
