"""/api/v1/audit, /stats and /meta: the audit trail, precision figures and reference data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from patrol.api.deps import AuditExporter, AuditReader, Ctx, CurrentActor, StatsReader
from patrol.api.schemas import (
    AuditRowOut,
    AuditVerificationOut,
    DismissReasonOut,
    MetaOut,
    PrecisionOut,
    UnitOut,
)
from patrol.schema import LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES
from patrol.workflow.actors import Role
from patrol.workflow.audit import audit_row_dict, audit_rows, record_audit, verify_chain
from patrol.workflow.feedback import precision_stats
from patrol.workflow.outbox import TOPICS
from patrol.workflow.tasks import OUTCOMES

router = APIRouter()
EntityFilter = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._:-]{1,200}$")]


@router.get("/audit", response_model=list[AuditRowOut], tags=["audit"], summary="Audit rows, oldest first")
def get_audit(
    ctx: Ctx,
    actor: AuditReader,
    entity_type: EntityFilter = None,
    entity_id: EntityFilter = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRowOut]:
    with ctx.db.read_session() as session:
        rows = audit_rows(session, entity_type=entity_type, entity_id=entity_id, after_seq=after_seq, limit=limit)
        return [AuditRowOut.model_validate(audit_row_dict(r)) for r in rows]


@router.get(
    "/audit/verify",
    response_model=AuditVerificationOut,
    tags=["audit"],
    summary="Check the hash chain; lists every edited or deleted row",
)
def verify(ctx: Ctx, actor: AuditReader) -> AuditVerificationOut:
    with ctx.db.read_session() as session:
        return AuditVerificationOut.model_validate(verify_chain(session).model_dump())


@router.post(
    "/audit/export",
    response_model=list[AuditRowOut],
    tags=["audit"],
    summary="Export a page of audit rows; the export itself is recorded",
)
def export(
    ctx: Ctx,
    actor: AuditExporter,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[AuditRowOut]:
    with ctx.db.session() as session:
        rows = [audit_row_dict(r) for r in audit_rows(session, after_seq=after_seq, limit=limit)]
        last = rows[-1]["seq"] if rows else after_seq
        record_audit(
            session,
            at=ctx.clock.now(),
            actor=actor,
            action="audit.exported",
            entity_type="audit_log",
            entity_id=f"{after_seq + 1}..{last}",
            after={"rows": len(rows)},
        )
        return [AuditRowOut.model_validate(r) for r in rows]


@router.get(
    "/stats/precision",
    response_model=PrecisionOut,
    tags=["feedback"],
    summary="Precision per category, rule and source, from dismissals and task outcomes",
)
def precision(ctx: Ctx, actor: StatsReader, since: AwareDatetime | None = None) -> PrecisionOut:
    with ctx.db.read_session() as session:
        return PrecisionOut.model_validate(
            precision_stats(session, ctx.policy.dismiss_reasons, since=since).model_dump()
        )


@router.get("/meta", response_model=MetaOut, tags=["meta"], summary="Reference data: categories, units, reasons, ...")
def meta(ctx: Ctx, actor: CurrentActor) -> MetaOut:
    policy = ctx.policy
    return MetaOut(
        categories=list(RISK_CATEGORIES),
        life_safety_categories=sorted(LIFE_SAFETY_CATEGORIES),
        priorities=policy.sla.priorities,
        outcomes=list(OUTCOMES),
        dismiss_reasons=[DismissReasonOut.model_validate(r.model_dump()) for r in policy.dismiss_reasons.reasons],
        units=[UnitOut.model_validate(u.model_dump()) for u in policy.units.units.values()],
        topics=dict(TOPICS),
        roles=[r.value for r in Role],
    )
