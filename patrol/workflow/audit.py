"""The append-only, hash-chained audit log: who did what to which object, when, before and after.

Each row's hash covers its content and the previous row's hash, and `audit_head` keeps the hash of
the last row. Editing a row breaks its own hash; re-hashing an edited row breaks the next row's
link; deleting rows leaves a gap in the sequence (or, at the end, a head that points past the last
row). Database triggers refuse UPDATE and DELETE on the table, so tampering needs someone to drop
them first, and `verify_chain` then says which rows were touched.

Appends are serialised by locking the single head row (PostgreSQL) or by the write lock every write
transaction takes up front (SQLite), so sequence numbers follow commit order without gaps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.workflow.actors import Actor
from patrol.workflow.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot put {type(value).__name__} in the audit log")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before_json: str | None,
    after_json: str | None,
    prev_hash: str,
) -> str:
    material = canonical_json(
        [
            seq,
            at.isoformat(timespec="microseconds"),
            actor,
            action,
            entity_type,
            entity_id,
            before_json,
            after_json,
            prev_hash,
        ]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _hash_of(row: AuditEntry) -> str:
    return entry_hash(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        before_json=row.before_json,
        after_json=row.after_json,
        prev_hash=row.prev_hash,
    )


def _locked_head(session: Session) -> AuditHead:
    head = session.scalars(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def record_audit(
    session: Session,
    *,
    at: datetime,
    actor: Actor | str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one row; call it in the same transaction as the change it records."""
    head = _locked_head(session)
    seq = head.seq + 1
    before_json = canonical_json(dict(before)) if before is not None else None
    after_json = canonical_json(dict(after)) if after is not None else None
    who = actor.username if isinstance(actor, Actor) else actor
    digest = entry_hash(
        seq=seq,
        at=at,
        actor=who,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before_json=before_json,
        after_json=after_json,
        prev_hash=head.hash,
    )
    row = AuditEntry(
        seq=seq,
        at=at,
        actor=who,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before_json=before_json,
        after_json=after_json,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(row)
    head.seq, head.hash = seq, digest
    session.flush()
    return row


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, to keep rows readable."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


# -- verification -------------------------------------------------------------------------------


class AuditProblem(BaseModel):
    seq: int = Field(description="the row (sequence number) where the problem shows")
    kind: str = Field(description="edited | deleted | chain_broken | truncated | head_mismatch | anchor_mismatch")
    message: str


class AuditVerification(BaseModel):
    ok: bool
    rows: int
    last_seq: int
    last_hash: str
    problems: list[AuditProblem] = Field(default_factory=list)


@dataclass(frozen=True)
class Anchor:
    """A (seq, hash) pair recorded outside the database, e.g. printed by `patrol audit head`."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        seq, _, digest = text.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise ValueError(f"anchor {text!r} must look like SEQ:SHA256HEX (see `patrol audit head`)")
        return cls(int(seq), digest.lower())


def _rows(session: Session, batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        page = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not page:
            return
        yield from page
        last = page[-1].seq


def _describe(row: AuditEntry) -> str:
    what = f"{row.action} {row.entity_type} {row.entity_id}"
    return f"row {row.seq} ({what} by {row.actor} at {row.at.isoformat()})"


def verify_chain(session: Session, *, anchors: list[Anchor] | None = None, batch: int = 2000) -> AuditVerification:
    """Walk the whole log and name every row that was edited or deleted."""
    problems: list[AuditProblem] = []
    pending_anchors = {a.seq: a for a in anchors or []}
    prev_seq, prev_hash, count = 0, GENESIS_HASH, 0
    for row in _rows(session, batch):
        count += 1
        if row.seq != prev_seq + 1:
            first, last = prev_seq + 1, row.seq - 1
            span = f"row {first}" if first == last else f"rows {first}..{last}"
            problems.append(
                AuditProblem(seq=first, kind="deleted", message=f"{span} deleted (gap before {_describe(row)})")
            )
        elif row.prev_hash != prev_hash:
            problems.append(
                AuditProblem(
                    seq=prev_seq,
                    kind="chain_broken",
                    message=f"row {prev_seq} was edited and re-hashed, or the link of {_describe(row)}"
                    " was edited:"
                    " the link no longer matches",
                )
            )
        if _hash_of(row) != row.hash:
            problems.append(
                AuditProblem(
                    seq=row.seq,
                    kind="edited",
                    message=f"{_describe(row)} was edited: content does not match its hash",
                )
            )
        anchor = pending_anchors.pop(row.seq, None)
        if anchor is not None and anchor.hash != row.hash:
            problems.append(
                AuditProblem(
                    seq=row.seq,
                    kind="anchor_mismatch",
                    message=f"row {row.seq} differs from the anchor recorded outside the database",
                )
            )
        prev_seq, prev_hash = row.seq, row.hash
    head = session.get(AuditHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq > prev_seq:
        problems.append(
            AuditProblem(
                seq=prev_seq + 1,
                kind="truncated",
                message=f"rows {prev_seq + 1}..{head_seq} deleted from the end of the log",
            )
        )
    elif head_seq < prev_seq:
        problems.append(
            AuditProblem(
                seq=head_seq + 1,
                kind="head_mismatch",
                message=f"rows {head_seq + 1}..{prev_seq} were added without going through the log",
            )
        )
    elif head_hash != prev_hash:
        problems.append(
            AuditProblem(seq=prev_seq, kind="head_mismatch", message=f"row {prev_seq} or the chain head was edited")
        )
    for seq in sorted(pending_anchors):
        problems.append(
            AuditProblem(seq=seq, kind="anchor_mismatch", message=f"row {seq}, recorded in an anchor, is missing")
        )
    problems.sort(key=lambda p: p.seq)
    return AuditVerification(ok=not problems, rows=count, last_seq=prev_seq, last_hash=prev_hash, problems=problems)


def audit_rows(
    session: Session,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    after_seq: int = 0,
    limit: int = 100,
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.seq > after_seq)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(query.order_by(AuditEntry.seq).limit(limit)))


def audit_row_dict(row: AuditEntry) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "before": json.loads(row.before_json) if row.before_json else None,
        "after": json.loads(row.after_json) if row.after_json else None,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }
