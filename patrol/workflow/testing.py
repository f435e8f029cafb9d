"""Helpers for testing code that uses the workflow: databases on both backends, real local receivers.

Nothing here is mocked: `isolated_postgres_url` gives each test its own schema on a real
PostgreSQL server, `WebhookReceiver` is an HTTP server on a local port that checks signatures and
acts once per idempotency key (as a real receiver must), and `SmtpReceiver` is an SMTP server
(aiosmtpd, a test dependency) on a local port.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from patrol.schema import LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES
from patrol.workflow.auth import hash_password
from patrol.workflow.db import WorkflowDb
from patrol.workflow.delivery import SIGNATURE_HEADER, verify_webhook_signature
from patrol.workflow.models import ReviewItem, ReviewItemPost, User

PG_URL_ENV = "PATROL_TEST_PG_URL"
PG_SKIP_REASON = (
    f"{PG_URL_ENV} is unset: start PostgreSQL and export e.g. "
    f"{PG_URL_ENV}=postgresql+psycopg://patrol:patrol@127.0.0.1:5432/patrol_test (CI does, see .ci/run)"
)


def postgres_test_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


@contextmanager
def isolated_postgres_url(base_url: str) -> Iterator[str]:
    """A URL whose connections use a fresh schema, dropped afterwards; tests never see each other's rows."""
    schema = f"wf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def workflow_db(backend: str, tmp_path: Path) -> Iterator[WorkflowDb]:
    """A migrated, empty workflow database: backend `sqlite` (a file under tmp_path) or `postgres`."""
    if backend == "sqlite":
        db = WorkflowDb(f"sqlite:///{tmp_path / 'workflow.db'}")
        try:
            yield db
        finally:
            db.dispose()
        return
    base = postgres_test_url()
    if base is None:
        raise RuntimeError(PG_SKIP_REASON)
    with isolated_postgres_url(base) as url:
        db = WorkflowDb(url)
        try:
            yield db
        finally:
            db.dispose()


#: The password of every account made by `add_test_user`.
TEST_PASSWORD = "correct horse battery staple"


@cache
def _test_password_hash() -> str:
    # argon2 is slow on purpose; hash the shared test password once per process.
    return hash_password(TEST_PASSWORD)


def add_test_user(
    session: Session, username: str, role: str, *, now: datetime, unit_id: str | None = None, email: str | None = None
) -> User:
    """An account with TEST_PASSWORD, without the (deliberately slow) hashing of `create_user`."""
    user = User(
        username=username,
        display_name=username,
        role=role,
        unit_id=unit_id,
        email=email,
        password_hash=_test_password_hash(),
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def seed_review_items(session: Session, count: int, *, now: datetime, prefix: str = "ri-seed") -> list[str]:
    """`count` open review items across categories and units, straight into the tables (fast, for load)."""
    categories = sorted(RISK_CATEGORIES)
    units = ["xf-heping", "xf-xiangfang", "ng-xuefu", "dl-qunli", "dw-jingyu", None]
    ids = []
    for n in range(count):
        category = categories[n % len(categories)]
        item_id = f"{prefix}-{n:06d}"
        post_id = f"seed:{prefix}:{n}"
        session.add(
            ReviewItem(
                id=item_id,
                category=category,
                status="new",
                life_safety=category in LIFE_SAFETY_CATEGORIES,
                max_score=0.5 + (n * 7919 % 500) / 1000,
                first_post_id=post_id,
                source_id="seed",
                jurisdiction=units[n % len(units)],
                post_count=1,
                created_at=now - timedelta(seconds=n),
                updated_at=now,
            )
        )
        session.add(
            ReviewItemPost(
                item_id=item_id,
                post_id=post_id,
                category=category,
                source_id="seed",
                score=0.9,
                simhash=0,
                evidence_json="[]",
                scorer="seed",
                added_at=now,
            )
        )
        ids.append(item_id)
    session.flush()
    return ids


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- webhook receiver ---------------------------------------------------------------------------


@dataclass
class ReceivedWebhook:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A local webhook endpoint; `stop()` then `start()` on the same port simulates an outage."""

    secret: str
    port: int = field(default_factory=free_port)
    answer_status: int = 200
    requests: list[ReceivedWebhook] = field(default_factory=list)
    accepted: dict[str, ReceivedWebhook] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify_webhook_signature(
                    receiver.secret,
                    body,
                    headers.get(SIGNATURE_HEADER.lower(), ""),
                    now=datetime.now(UTC),
                    tolerance_s=10**9,
                )
                hook = ReceivedWebhook(headers=headers, body=body, signature_ok=ok)
                with receiver._lock:
                    receiver.requests.append(hook)
                    status = receiver.answer_status if ok else 401
                    if 200 <= status < 300:
                        receiver.accepted.setdefault(headers.get("idempotency-key", ""), hook)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# -- SMTP receiver ------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: Message


@dataclass
class SmtpReceiver:
    """A local SMTP server (aiosmtpd); `stop()` then `start()` on the same port simulates an outage."""

    port: int = field(default_factory=free_port)
    mails: list[ReceivedMail] = field(default_factory=list)
    _controller: Any = None

    def start(self) -> SmtpReceiver:
        from aiosmtpd.controller import Controller

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receiver.mails.append(
                    ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
                )
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def distinct_message_ids(self) -> set[str]:
        return {str(mail.message["Message-ID"]) for mail in self.mails}
