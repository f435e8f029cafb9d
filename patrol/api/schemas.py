"""Request and response bodies of the API (they are also its OpenAPI schema)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from patrol.workflow.audit import AuditProblem
from patrol.workflow.feedback import PrecisionRow
from patrol.workflow.models import (
    EvidenceFile,
    Handover,
    NotificationChannel,
    ReviewItem,
    SlaBreach,
    TaskFinding,
    User,
    VerificationTask,
)


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL characters and no driver can store lone surrogates: refuse them here,
    # with a 422, instead of failing in the database.
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    return value


Text = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_storable)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_storable)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_storable)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    error: str = Field(description="machine-readable code, e.g. not_found, claim_conflict")
    detail: str = Field(description="what went wrong and what to do")


# -- auth ---------------------------------------------------------------------------------------


class LoginIn(_In):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_storable)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(_storable)]


class UserOut(_Out):
    username: str
    display_name: str
    role: str
    unit_id: str | None
    email: str | None
    active: bool


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserOut


class SessionOut(BaseModel):
    csrf_token: str = Field(description="send it back as the X-CSRF-Token header on every unsafe request")
    expires_at: datetime
    user: UserOut


# -- review items -------------------------------------------------------------------------------


class ItemOut(_Out):
    id: str
    category: str
    status: str = Field(description="new | claimed | dismissed | duplicate | escalated")
    life_safety: bool
    max_score: float
    first_post_id: str
    source_id: str
    jurisdiction: str | None
    post_count: int
    created_at: datetime
    updated_at: datetime
    claimed_by: str | None
    claim_expires_at: datetime | None
    ack_due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    dismiss_reason: str | None
    resolution_note: str | None
    duplicate_of: str | None
    task_id: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class EvidenceSpan(BaseModel):
    category: str
    signal: str
    rule: str
    term: str
    start: int
    end: int
    weight: float = 1.0


class ItemPostOut(BaseModel):
    post_id: str
    source_id: str
    score: float
    scorer: str
    added_at: datetime
    evidence: list[EvidenceSpan]


class ItemDetailOut(ItemOut):
    posts: list[ItemPostOut]

    @classmethod
    def of(cls, item: ReviewItem) -> ItemDetailOut:
        base = ItemOut.model_validate(item).model_dump()
        posts = [
            ItemPostOut(
                post_id=p.post_id,
                source_id=p.source_id,
                score=p.score,
                scorer=p.scorer,
                added_at=p.added_at,
                evidence=[EvidenceSpan.model_validate(e) for e in json.loads(p.evidence_json)],
            )
            for p in item.posts
        ]
        return cls(**base, posts=posts)


class ItemPage(BaseModel):
    total: int
    items: list[ItemOut]


class DismissIn(_In):
    reason: ShortText = Field(description="a code from GET /api/v1/meta (dismiss_reasons)")
    note: Text | None = None


class DuplicateIn(_In):
    of: Identifier = Field(description="the review item this one repeats")
    note: Text | None = None


class EscalateIn(_In):
    unit: Identifier | None = Field(None, description="override the unit routed from the item's jurisdiction")
    priority: ShortText | None = Field(None, description="default: the category's default priority")
    instructions: Text | None = None


class ReasonIn(_In):
    reason: Reason


class BulkIn(_In):
    action: Literal["claim", "release", "dismiss", "duplicate"]
    item_ids: list[Identifier] = Field(min_length=1, max_length=500)
    reason: ShortText | None = Field(None, description="dismiss reason code (action dismiss)")
    note: Text | None = None
    of: Identifier | None = Field(None, description="the original (action duplicate)")


class BulkOutcomeOut(BaseModel):
    item_id: str
    ok: bool
    status: str | None = None
    error: str | None = None
    code: str | None = None


class BulkOut(BaseModel):
    succeeded: int
    failed: int
    outcomes: list[BulkOutcomeOut]


# -- tasks --------------------------------------------------------------------------------------


class TaskOut(_Out):
    id: str
    item_id: str
    category: str
    unit_id: str
    routed_by: str = Field(description="jurisdiction | override | fallback")
    priority: str
    status: str = Field(description="assigned | accepted | in_progress | completed | cancelled")
    outcome: str | None = Field(description="confirmed | unfounded | referred | unreachable")
    outcome_note: str | None
    instructions: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime
    ack_due_at: datetime
    dispatch_due_at: datetime
    verify_due_at: datetime
    accepted_at: datetime | None
    accepted_by: str | None
    started_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    escalated_to: str | None
    reopen_count: int


class FindingOut(_Out):
    id: str
    author: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, finding: TaskFinding) -> FindingOut:
        return cls.model_validate(finding)


class EvidenceOut(_Out):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime

    @classmethod
    def of(cls, evidence: EvidenceFile) -> EvidenceOut:
        return cls.model_validate(evidence)


class TaskDetailOut(TaskOut):
    findings: list[FindingOut]
    evidence_files: list[EvidenceOut]

    @classmethod
    def of(cls, task: VerificationTask) -> TaskDetailOut:
        return cls.model_validate(task)


class TaskPage(BaseModel):
    total: int
    tasks: list[TaskOut]


class CompleteIn(_In):
    outcome: Literal["confirmed", "unfounded", "referred", "unreachable"]
    note: Text | None = None


class ReassignIn(_In):
    unit: Identifier
    reason: Reason


class ReopenTaskIn(_In):
    reason: Reason
    unit: Identifier | None = None


class PriorityIn(_In):
    priority: ShortText
    reason: Reason


class FindingIn(_In):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(_storable)]


# -- shifts -------------------------------------------------------------------------------------


class AssignmentIn(_In):
    username: Username
    duty: Literal["officer", "supervisor"]


class AssignmentsIn(_In):
    assignments: list[AssignmentIn] = Field(max_length=100)


class AssignmentOut(BaseModel):
    username: str
    duty: str


class ShiftOut(BaseModel):
    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    assignments: list[AssignmentOut]
    duty_supervisor: str | None = None


class NoteIn(_In):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(_storable)]


class NoteOut(_Out):
    id: str
    shift_id: str
    author: str
    text: str
    created_at: datetime


class HandoverOut(BaseModel):
    id: str
    shift_id: str
    next_shift_id: str
    created_at: datetime
    ack_due_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    summary: dict[str, Any] = Field(
        description="shift, next_shift, outgoing, incoming, open_items, life_safety_items, open_tasks, breaches,"
        " notes, released_claims"
    )

    @classmethod
    def of(cls, handover: Handover) -> HandoverOut:
        return cls(
            id=handover.id,
            shift_id=handover.shift_id,
            next_shift_id=handover.next_shift_id,
            created_at=handover.created_at,
            ack_due_at=handover.ack_due_at,
            acknowledged_by=handover.acknowledged_by,
            acknowledged_at=handover.acknowledged_at,
            summary=json.loads(handover.summary_json),
        )


class BreachOut(_Out):
    subject_type: str = Field(description="item | task | handover")
    subject_id: str
    kind: str = Field(description="acknowledge | dispatch | verify")
    due_at: datetime
    detected_at: datetime
    escalated_to: str | None
    unit_id: str | None

    @classmethod
    def of(cls, breach: SlaBreach) -> BreachOut:
        return cls.model_validate(breach)


# -- admin --------------------------------------------------------------------------------------


class UserIn(_In):
    username: Username
    password: Annotated[str, StringConstraints(min_length=10, max_length=256), AfterValidator(_storable)]
    role: Literal["patrol_officer", "reviewer", "field_unit", "analyst", "admin"]
    unit_id: Identifier | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}$")] | None = None
    display_name: Annotated[str, StringConstraints(max_length=100), AfterValidator(_storable)] = ""


class UserPatchIn(_In):
    role: Literal["patrol_officer", "reviewer", "field_unit", "analyst", "admin"] | None = None
    unit_id: Identifier | None = None
    email: Annotated[str, StringConstraints(pattern=r"^([^@\s]{1,64}@[^@\s]{1,190})?$")] | None = None
    active: bool | None = None
    password: Annotated[str, StringConstraints(min_length=10, max_length=256), AfterValidator(_storable)] | None = None


class ChannelIn(_In):
    name: ShortText
    kind: Literal["webhook", "email"]
    topics: list[Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_storable)]] = Field(
        min_length=1, max_length=20, description="fnmatch patterns over GET /api/v1/meta topics, e.g. task.*"
    )
    unit_id: Identifier | None = Field(None, description="only events about this unit")
    config: dict[str, Any] = Field(
        description="webhook: url, secret (>= 16 chars), timeout_s; email: smtp_host, smtp_port, from_address, to,"
        " to_recipient, starttls, username, password, timeout_s"
    )


class ChannelOut(BaseModel):
    id: str
    name: str
    kind: str
    topics: list[str]
    unit_id: str | None
    active: bool
    created_at: datetime
    target: str = Field(description="the URL or the addresses; secrets are never returned")

    @classmethod
    def of(cls, channel: NotificationChannel) -> ChannelOut:
        config = json.loads(channel.config_json)
        target = (
            config.get("url")
            or ", ".join(config.get("to", []))
            or ("(event recipient)" if config.get("to_recipient") else "")
        )
        return cls(
            id=channel.id,
            name=channel.name,
            kind=channel.kind,
            topics=channel.topics.split(","),
            unit_id=channel.unit_id,
            active=channel.active,
            created_at=channel.created_at,
            target=target,
        )


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    topic: str
    channel_id: str
    status: str = Field(description="pending | delivered | dead")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


# -- audit and stats ----------------------------------------------------------------------------


class AuditRowOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditVerificationOut(BaseModel):
    ok: bool
    rows: int
    last_seq: int
    last_hash: str
    problems: list[AuditProblem]


class PrecisionOut(BaseModel):
    total: PrecisionRow
    by_category: list[PrecisionRow]
    by_rule: list[PrecisionRow]
    by_source: list[PrecisionRow]


class UnitOut(BaseModel):
    id: str
    name: str
    kind: str
    parent: str | None


class DismissReasonOut(BaseModel):
    code: str
    label: str
    feedback: str
    note_required: bool


class MetaOut(BaseModel):
    categories: list[str]
    life_safety_categories: list[str]
    priorities: list[str]
    outcomes: list[str]
    dismiss_reasons: list[DismissReasonOut]
    units: list[UnitOut]
    topics: dict[str, str]
    roles: list[str]


def user_out(user: User) -> UserOut:
    return UserOut.model_validate(user)
