"""Bulk requests that account for every document: indexed, or dead-lettered with the reason.

Requests are cut by document count and by bytes. A whole request that meets a 429/502/503/504 or a
connection error (refused, reset, dropped mid-request, timed out) is sent again with exponential
backoff; so are the items the cluster rejected with 429 (a full write queue). Any other item error
(a mapping conflict, a bad value) cannot succeed by waiting and is dead-lettered at once. After
`max_attempts` the rest is dead-lettered too. Upserts keyed by the post id are idempotent, so sending
a request again after a connection dropped half-way through it doubles nothing; so are the scheme
updates (`scheme_matches`), which add an id only where it is not yet.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from patrol.schema import AnalysedPost
from patrol.store.base import UpsertResult
from patrol.store.elastic.dead_letters import DeadLetter, new_letter

log = logging.getLogger("patrol.store.elastic")

#: Statuses worth another try: the cluster is busy, or a proxy in front of it is.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class BulkSettings:
    """How bulk requests are cut and retried."""

    chunk_docs: int = 500
    chunk_bytes: int = 5 * 1024 * 1024
    max_attempts: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    #: dead letters sent again per call, oldest first; after a long outage the backlog drains over
    #: several calls instead of making one call as long as the outage
    dead_letters_per_call: int = 10_000


@dataclass
class PendingDocument:
    """One document on its way: the post, how to write it, and its dead letter if it had one."""

    item: AnalysedPost
    overwrite: bool
    previous: DeadLetter | None = None
    lines: bytes = b""


@dataclass
class BulkOutcome:
    """What one call's bulk requests did, beyond the counts in UpsertResult."""

    letters: list[DeadLetter] = field(default_factory=list)
    missing_index: bool = False


class BulkEntry(Protocol):
    """Anything sent as one bulk action: its NDJSON lines."""

    @property
    def lines(self) -> bytes: ...


Entry = TypeVar("Entry", bound=BulkEntry)
Entry_contra = TypeVar("Entry_contra", bound=BulkEntry, contravariant=True)


class ItemAccount(Protocol[Entry_contra]):
    """Counts what became of each entry; the sender retries the busy ones (429 and the like) itself."""

    def settle(self, entry: Entry_contra, status: int, answer: dict[str, Any]) -> None:
        """The cluster's final answer for `entry` (a success, or an error waiting cannot fix)."""
        ...

    def fail(self, entry: Entry_contra, reason: str) -> None:
        """`entry` got no answer worth settling: the request was refused, or every attempt was busy."""
        ...


def chunks(items: Sequence[Entry], settings: BulkSettings) -> Iterator[list[Entry]]:
    chunk: list[Entry] = []
    size = 0
    for pending in items:
        full = len(chunk) >= settings.chunk_docs or size + len(pending.lines) > settings.chunk_bytes
        if chunk and full:
            yield chunk
            chunk, size = [], 0
        chunk.append(pending)  # a document bigger than chunk_bytes goes alone
        size += len(pending.lines)
    if chunk:
        yield chunk


def item_reason(status: int, error: Any) -> str:
    if isinstance(error, dict):
        return f"{status} {error.get('type', 'error')}: {error.get('reason', '')}"[:500]
    return f"{status} {error}"[:500]


def fail(pending: PendingDocument, reason: str, result: UpsertResult, outcome: BulkOutcome) -> None:
    result.failed += 1
    result.failures.append(f"{pending.item.post.id}: {reason}")
    outcome.letters.append(new_letter(pending.item, reason, overwrite=pending.overwrite, previous=pending.previous))


@dataclass
class UpsertAccount:
    """Upserts and create-only writes: created / updated / noop, and a dead letter for each failure."""

    result: UpsertResult
    outcome: BulkOutcome

    def settle(self, entry: PendingDocument, status: int, answer: dict[str, Any]) -> None:
        if 200 <= status < 300:
            kind = answer.get("result")
            if kind == "created":
                self.result.inserted += 1
            elif kind == "noop":
                self.result.unchanged += 1
            else:
                self.result.updated += 1
        elif status == 409 and not entry.overwrite:
            self.result.unchanged += 1  # create-only: the live pipeline already wrote this post
        else:
            error = answer.get("error")
            if isinstance(error, dict) and error.get("type") == "index_not_found_exception":
                self.outcome.missing_index = True
            self.fail(entry, item_reason(status, error))

    def fail(self, entry: PendingDocument, reason: str) -> None:
        fail(entry, reason, self.result, self.outcome)


class BulkSender:
    def __init__(self, client: Elasticsearch, settings: BulkSettings, *, refresh: bool) -> None:
        self._client = client
        self.settings = settings
        self.refresh = refresh

    def send(self, entries: Sequence[Entry], account: ItemAccount[Entry]) -> None:
        for chunk in chunks(entries, self.settings):
            self._send_chunk(chunk, account)

    def _backoff(self, attempt: int) -> None:
        delay = min(self.settings.max_backoff_s, self.settings.initial_backoff_s * 2 ** (attempt - 1))
        time.sleep(delay * random.uniform(0.5, 1.0))  # jitter: parallel writers do not retry in step

    def _send_chunk(self, chunk: list[Entry], account: ItemAccount[Entry]) -> None:
        pending = chunk
        attempt = 0
        while pending:
            attempt += 1
            reason, pending = self._send_once(pending, account)
            if not pending:
                return
            if attempt >= self.settings.max_attempts:
                for entry in pending:
                    account.fail(entry, f"{reason} (gave up after {attempt} attempts)")
                return
            log.info("bulk retry", extra={"attempt": attempt, "documents": len(pending), "reason": reason[:200]})
            self._backoff(attempt)

    def _send_once(self, pending: list[Entry], account: ItemAccount[Entry]) -> tuple[str, list[Entry]]:
        """Send once; settle every answer that waiting cannot change, return what to retry and why."""
        try:
            response = self._client.bulk(
                operations=b"".join(p.lines for p in pending),  # type: ignore[arg-type]  # sent as is
                refresh="wait_for" if self.refresh else False,
                require_alias=True,
                filter_path="errors,items.*.status,items.*.result,items.*.error",
            )
        except ApiError as exc:
            if exc.status_code in RETRYABLE_STATUSES:
                return f"{exc.status_code} {exc.error}", pending
            for entry in pending:
                account.fail(entry, f"{exc.status_code} {exc.error}: bulk request refused")
            return "", []
        except TransportError as exc:  # refused, reset or dropped mid-request; timed out
            return f"connection: {type(exc).__name__}: {exc}", pending
        items = response.body.get("items", [])
        if len(items) != len(pending):
            # No way to tell which went through; every action is idempotent, so sending all again is safe.
            return f"bulk response had {len(items)} items for {len(pending)} documents", pending
        retry: list[Entry] = []
        reason = ""
        for entry, item in zip(pending, items, strict=True):
            answer = next(iter(item.values()))
            status = int(answer.get("status", 0))
            if status in RETRYABLE_STATUSES:
                reason = item_reason(status, answer.get("error"))
                retry.append(entry)
            else:
                account.settle(entry, status, answer)
        return reason, retry
