"""The outbox: local webhook and SMTP receivers go down and come back; each gets each event once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patrol.thresholds import Thresholds
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.delivery import DeliveryWorker, RetryPolicy
from patrol.workflow.flagging import open_review_items
from patrol.workflow.models import OutboxDelivery, OutboxEvent
from patrol.workflow.outbox import add_channel, enqueue_notification
from patrol.workflow.testing import (
    PG_SKIP_REASON,
    SmtpReceiver,
    WebhookReceiver,
    postgres_test_url,
    workflow_db,
)
from tests.conftest import BASE_TIME, make_analysed

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SECRET = "webhook-secret-0123456789"
RETRY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=5), max_attempts=4)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and postgres_test_url() is None:
        pytest.skip(PG_SKIP_REASON)
    return str(request.param)


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[WorkflowDb]:
    with workflow_db(backend, tmp_path) as database:
        yield database


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BASE_TIME)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=SECRET)
    yield receiver
    receiver.stop()


_counter = iter(range(10**6))


def life_safety_item(db: WorkflowDb, clock: ManualClock) -> None:
    post = make_analysed(f"o{next(_counter)}", "x", ["x"], scores={"self_harm": 0.9}, jurisdiction="xf-heping")
    with db.session() as s:
        open_review_items(s, [post], Thresholds(default=0.5), max_distance=3, now=clock.now())


def subscribe_webhook(db: WorkflowDb, clock: ManualClock, receiver: WebhookReceiver, name: str = "desk") -> None:
    with db.session() as s:
        add_channel(
            s,
            name=name,
            kind="webhook",
            topics=["item.*"],
            at=clock.now(),
            config={"url": receiver.url, "secret": SECRET, "timeout_s": 2},
        )


def delivery_states(db: WorkflowDb) -> list[tuple[str, int]]:
    with db.read_session() as s:
        return [(d.status, d.attempts) for d in s.scalars(select(OutboxDelivery).order_by(OutboxDelivery.id))]


def test_webhook_down_then_up_gets_exactly_one_signed_delivery(
    db: WorkflowDb, clock: ManualClock, webhook: WebhookReceiver
) -> None:
    subscribe_webhook(db, clock, webhook)
    life_safety_item(db, clock)
    worker = DeliveryWorker(db, clock, retry=RETRY)
    report = worker.run_once()  # nobody listens on the port yet
    assert (report.leased, report.retried) == (1, 1)
    assert delivery_states(db) == [("pending", 1)]
    assert worker.run_once().leased == 0, "not due again before its backoff"
    webhook.start()
    clock.advance(seconds=13)
    assert worker.run_once().delivered == 1
    assert worker.run_once().leased == 0
    clock.advance(hours=1)
    assert worker.run_once().leased == 0
    assert len(webhook.requests) == 1
    hook = webhook.requests[0]
    assert hook.signature_ok and hook.headers["x-patrol-event"] == "item.life_safety"
    with db.read_session() as s:
        event = s.scalars(select(OutboxEvent)).one()
    assert hook.headers["idempotency-key"] == event.id == hook.json["id"]
    assert hook.json["data"]["category"] == "self_harm"
    assert delivery_states(db) == [("delivered", 2)]


def test_server_errors_are_retried_and_client_errors_are_not(
    db: WorkflowDb, clock: ManualClock, webhook: WebhookReceiver
) -> None:
    subscribe_webhook(db, clock, webhook)
    webhook.answer_status = 503
    webhook.start()
    life_safety_item(db, clock)
    worker = DeliveryWorker(db, clock, retry=RETRY)
    for _ in range(RETRY.max_attempts):
        worker.run_once()
        clock.advance(RETRY.cap * 2)
    assert delivery_states(db) == [("dead", RETRY.max_attempts)]
    webhook.answer_status = 410
    life_safety_item(db, clock)
    assert worker.run_once().dead == 1, "a receiver that says the hook is gone is not retried"


def test_a_crash_after_sending_resends_with_the_same_key_and_the_receiver_acts_once(
    backend: str, tmp_path: Path, clock: ManualClock, webhook: WebhookReceiver
) -> None:
    with workflow_db(backend, tmp_path) as db:
        subscribe_webhook(db, clock, webhook)
        webhook.start()
        life_safety_item(db, clock)
        crashed = DeliveryWorker(db, clock, retry=RETRY, lease=timedelta(minutes=2))
        (leased,) = crashed.lease_due()
        assert crashed.send(leased) is None  # sent ... and the process dies before recording it
        # a restarted worker (new engine, same database) waits for the lease, then sends again
        restarted_db = WorkflowDb(db.url)
        restarted = DeliveryWorker(restarted_db, clock, retry=RETRY)
        assert restarted.run_once().leased == 0
        clock.advance(minutes=2)
        assert restarted.run_once().delivered == 1
        assert crashed.record(leased, None) == "delivered"  # a late answer from the dead run changes nothing
        restarted_db.dispose()
        assert len(webhook.requests) == 2 and len(webhook.accepted) == 1
        assert {r.headers["idempotency-key"] for r in webhook.requests} == set(webhook.accepted)
        assert delivery_states(db) == [("delivered", 2)]


def test_rolled_back_change_sends_nothing(db: WorkflowDb, clock: ManualClock, webhook: WebhookReceiver) -> None:
    subscribe_webhook(db, clock, webhook)
    post = make_analysed("rollback", "x", ["x"], scores={"violence_threat": 0.9})
    with pytest.raises(RuntimeError), db.session() as s:
        open_review_items(s, [post], Thresholds(default=0.5), max_distance=3, now=clock.now())
        raise RuntimeError("the flag stage failed after writing")
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_each_of_two_receivers_gets_each_event_once_with_two_workers_racing(db: WorkflowDb, clock: ManualClock) -> None:
    receivers = [WebhookReceiver(secret=SECRET).start() for _ in range(2)]
    try:
        for n, receiver in enumerate(receivers):
            subscribe_webhook(db, clock, receiver, name=f"desk{n}")
        for _ in range(10):
            life_safety_item(db, clock)
        workers = [DeliveryWorker(db, clock, retry=RETRY, batch_size=3) for _ in range(4)]

        def drain(worker: DeliveryWorker) -> None:
            while worker.run_once().leased:
                pass

        threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        for receiver in receivers:
            keys = [r.headers["idempotency-key"] for r in receiver.requests]
            assert len(keys) == 10 and len(set(keys)) == 10
        assert {state for state, _ in delivery_states(db)} == {"delivered"}
    finally:
        for receiver in receivers:
            receiver.stop()


def test_smtp_down_then_up_gets_exactly_one_mail_to_the_desk_and_the_supervisor(
    db: WorkflowDb, clock: ManualClock
) -> None:
    smtp = SmtpReceiver()
    with db.session() as s:
        add_channel(
            s,
            name="supervisor mail",
            kind="email",
            topics=["task.sla_breached", "item.*"],
            at=clock.now(),
            config={
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "from_address": "patrol@desk.example",
                "to": ["desk@desk.example"],
                "to_recipient": True,
                "timeout_s": 2,
            },
        )
    life_safety_item(db, clock)
    worker = DeliveryWorker(db, clock, retry=RETRY)
    assert worker.run_once().retried == 1
    smtp.start()
    try:
        clock.advance(minutes=1)
        assert worker.run_once().delivered == 1
        clock.advance(hours=1)
        assert worker.run_once().leased == 0
        with db.session() as s:
            enqueue_notification(
                s,
                topic="task.sla_breached",
                key="breach-1",
                at=clock.now(),
                payload={"task_id": "vt-1", "summary": "task vt-1 missed its verify target"},
                recipient_email="sam@desk.example",
            )
        assert worker.run_once().delivered == 1
    finally:
        smtp.stop()
    assert len(smtp.mails) == 2
    first, breach = smtp.mails
    with db.read_session() as s:
        event_id = s.scalars(select(OutboxEvent.id).where(OutboxEvent.topic == "item.life_safety")).one()
    assert first.recipients == ["desk@desk.example"]
    assert first.message["Message-ID"] == f"<{event_id}@opinion-patrol>"
    assert "self_harm" in first.message["Subject"]
    assert breach.recipients == ["desk@desk.example", "sam@desk.example"]
    assert "vt-1 missed its verify target" in breach.message["Subject"]
