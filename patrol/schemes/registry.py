"""Creating, changing, deleting and listing schemes; every change goes to the workflow's audit log.

The audit rows (entity type `scheme`, actions `scheme.add`, `scheme.change`, `scheme.delete`) hold
the whole scheme before and after, so a deleted scheme can be read back and re-created.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from patrol.schema import utcnow
from patrol.schemes.context import MatchContext
from patrol.schemes.matcher import SchemeMatcher, SchemeSource
from patrol.schemes.models import Scheme, SchemeAlert, SchemeMatch, SchemeSubscriber
from patrol.schemes.query import Query, QueryError
from patrol.workflow.actors import Actor
from patrol.workflow.audit import changed_fields, record_audit
from patrol.workflow.errors import InvalidInput, NotFound
from patrol.workflow.ids import new_id

AlertMode = Literal["realtime", "digest", "spike"]
DigestPeriod = Literal["hourly", "daily"]
SubscriberKind = Literal["user", "unit"]
AUDIT_ENTITY = "scheme"

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_SUBSCRIBER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class SchemeNotFound(NotFound):
    pass


class SchemeInvalid(InvalidInput):
    pass


def parse_hhmm(value: str) -> time:
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a local time HH:MM, e.g. 22:00")
    return time(int(match.group(1)), int(match.group(2)))


class Subscriber(BaseModel):
    """A user or unit that gets the scheme's alerts; quiet hours are local (Asia/Shanghai) times."""

    model_config = ConfigDict(extra="forbid")

    kind: SubscriberKind
    id: str
    quiet_start: str | None = None
    quiet_end: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _SUBSCRIBER_ID.match(value):
            raise ValueError(f"{value!r} is not a username or unit id (letters, digits, . _ @ -; at most 64)")
        return value

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hhmm(value)
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> Subscriber:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both a start and an end, e.g. quiet=22:00-07:00")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("quiet hours start and end at the same time; leave them out instead")
        return self

    @classmethod
    def parse(cls, text: str) -> Subscriber:
        """`unit:xf-branch` or `user:zhang,quiet=22:00-07:00`."""
        head, *options = [part.strip() for part in text.split(",")]
        kind, sep, ident = head.partition(":")
        if not sep or kind not in ("user", "unit"):
            raise ValueError(f"subscriber {text!r}: write user:NAME or unit:UNIT_ID, e.g. unit:xf-branch")
        values: dict[str, Any] = {"kind": kind, "id": ident}
        for option in options:
            key, _, value = option.partition("=")
            if key != "quiet" or "-" not in value:
                raise ValueError(f"subscriber {text!r}: unknown option {option!r}; the only one is quiet=HH:MM-HH:MM")
            values["quiet_start"], values["quiet_end"] = value.split("-", 1)
        return cls.model_validate(values)

    def label(self) -> str:
        quiet = f",quiet={self.quiet_start}-{self.quiet_end}" if self.quiet_start else ""
        return f"{self.kind}:{self.id}{quiet}"


class SchemeSpec(BaseModel):
    """What a new scheme is made of."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    purpose: str = Field(min_length=1, description="why the scheme exists; shown wherever the scheme is")
    owner: str = Field(min_length=1, max_length=64)
    query: str = Field(min_length=1)
    active_from: AwareDatetime | None = None
    active_until: AwareDatetime | None = None
    alert_mode: AlertMode = "realtime"
    digest_period: DigestPeriod = "daily"
    spike_ratio: float = Field(3.0, gt=1.0, description="alert when an hour has this many times the usual volume")
    spike_min_count: int = Field(default=5, ge=1, description="and at least this many matches")
    subscribers: list[Subscriber] = Field(default_factory=list)

    @field_validator("name", "purpose", "owner", "query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _window(self) -> SchemeSpec:
        if self.active_from and self.active_until and self.active_until <= self.active_from:
            raise ValueError("active_until must be after active_from")
        seen = set()
        for subscriber in self.subscribers:
            key = (subscriber.kind, subscriber.id)
            if key in seen:
                raise ValueError(f"subscriber {subscriber.kind}:{subscriber.id} is listed twice")
            seen.add(key)
        return self


class SchemeChange(BaseModel):
    """Fields to change; None leaves a field as it is."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    purpose: str | None = None
    owner: str | None = None
    query: str | None = None
    active_from: AwareDatetime | None = None
    active_until: AwareDatetime | None = None
    clear_window: bool = Field(False, description="remove the active window (always active)")
    alert_mode: AlertMode | None = None
    digest_period: DigestPeriod | None = None
    spike_ratio: float | None = None
    spike_min_count: int | None = None
    add_subscribers: list[Subscriber] = Field(default_factory=list)
    remove_subscribers: list[str] = Field(default_factory=list, description="user:NAME or unit:ID")


class SchemeView(SchemeSpec):
    """A stored scheme, as shown to people and written to the audit log."""

    id: str
    version: int
    created_at: AwareDatetime
    created_by: str
    updated_at: AwareDatetime
    updated_by: str

    @classmethod
    def of(cls, scheme: Scheme) -> SchemeView:
        # Validated on the way out too: a row edited by hand with a bad mode fails loudly here.
        return cls.model_validate(
            {
                "id": scheme.id,
                "name": scheme.name,
                "purpose": scheme.purpose,
                "owner": scheme.owner,
                "query": scheme.query,
                "version": scheme.version,
                "active_from": scheme.active_from,
                "active_until": scheme.active_until,
                "alert_mode": scheme.alert_mode,
                "digest_period": scheme.digest_period,
                "spike_ratio": scheme.spike_ratio,
                "spike_min_count": scheme.spike_min_count,
                "subscribers": [
                    {
                        "kind": row.kind,
                        "id": row.subscriber,
                        "quiet_start": row.quiet_start,
                        "quiet_end": row.quiet_end,
                    }
                    for row in scheme.subscribers
                ],
                "created_at": scheme.created_at,
                "created_by": scheme.created_by,
                "updated_at": scheme.updated_at,
                "updated_by": scheme.updated_by,
            }
        )

    def is_active(self, at: datetime) -> bool:
        return (self.active_from is None or self.active_from <= at) and (
            self.active_until is None or at < self.active_until
        )

    def audit_snapshot(self) -> dict[str, Any]:
        snapshot = self.model_dump(mode="json")
        snapshot["subscribers"] = [s.label() for s in self.subscribers]
        return snapshot


# -- validation ---------------------------------------------------------------------------------


def check_query(query: str, context: MatchContext) -> Query:
    """Parse and compile the query alone: syntax, words and filter values; raise `QueryError`."""
    return SchemeMatcher.check(query, context)


def _check_subscribers(subscribers: list[Subscriber], context: MatchContext) -> None:
    units = context.gazetteer.units_within
    for subscriber in subscribers:
        if subscriber.kind == "unit" and subscriber.id not in units:
            raise SchemeInvalid(f"unknown unit {subscriber.id!r} among the subscribers; use one of {sorted(units)}")


def _actor_name(actor: Actor | str) -> str:
    return actor.username if isinstance(actor, Actor) else actor


# -- reads --------------------------------------------------------------------------------------


def get_scheme(session: Session, name_or_id: str) -> Scheme:
    scheme = session.scalars(
        select(Scheme)
        .options(selectinload(Scheme.subscribers))
        .where((Scheme.name == name_or_id) | (Scheme.id == name_or_id))
    ).first()
    if scheme is None:
        known = session.scalars(select(Scheme.name).order_by(Scheme.name).limit(20)).all()
        hint = f"; schemes: {', '.join(known)}" if known else "; there are no schemes yet (patrol scheme add)"
        raise SchemeNotFound(f"no scheme named {name_or_id!r}{hint}")
    return scheme


def list_schemes(session: Session, *, active_at: datetime | None = None) -> list[SchemeView]:
    schemes = session.scalars(select(Scheme).options(selectinload(Scheme.subscribers)).order_by(Scheme.name)).all()
    views = [SchemeView.of(s) for s in schemes]
    if active_at is not None:
        views = [v for v in views if v.is_active(active_at)]
    return views


def match_counts(session: Session, since: datetime | None = None) -> dict[str, int]:
    """Stored matches per scheme id (optionally only those matched since a time)."""
    query = select(SchemeMatch.scheme_id, func.count()).group_by(SchemeMatch.scheme_id)
    if since is not None:
        query = query.where(SchemeMatch.matched_at >= since)
    return {scheme_id: count for scheme_id, count in session.execute(query).tuples()}


def live_scheme_sources(
    session: Session, now: datetime, *, late_posts: timedelta = timedelta(days=3)
) -> list[tuple[SchemeView, SchemeSource]]:
    """Schemes the live stage matches: started, and not ended longer ago than posts arrive late.

    The window itself is tested against each post's publication time, so a post of the marathon
    weekend crawled on Monday still counts and one from the week before does not.
    """
    sources = []
    for view in list_schemes(session):
        if view.active_from is not None and view.active_from > now:
            continue
        if view.active_until is not None and view.active_until < now - late_posts:
            continue
        sources.append((view, SchemeSource(view.id, view.query, view.active_from, view.active_until)))
    return sources


# -- writes -------------------------------------------------------------------------------------


def add_scheme(
    session: Session,
    spec: SchemeSpec,
    *,
    actor: Actor | str,
    context: MatchContext,
    now: datetime | None = None,
) -> SchemeView:
    now = now or utcnow()
    check_query(spec.query, context)
    _check_subscribers(spec.subscribers, context)
    if session.scalar(select(Scheme.id).where(Scheme.name == spec.name)) is not None:
        raise SchemeInvalid(
            f"a scheme named {spec.name!r} exists; choose another name, or change it with `patrol scheme change`"
        )
    who = _actor_name(actor)
    scheme = Scheme(
        id=new_id("sch")[:40],
        name=spec.name,
        purpose=spec.purpose,
        owner=spec.owner,
        query=spec.query,
        version=1,
        active_from=spec.active_from,
        active_until=spec.active_until,
        alert_mode=spec.alert_mode,
        digest_period=spec.digest_period,
        spike_ratio=spec.spike_ratio,
        spike_min_count=spec.spike_min_count,
        created_at=now,
        created_by=who,
        updated_at=now,
        updated_by=who,
        subscribers=[
            SchemeSubscriber(kind=s.kind, subscriber=s.id, quiet_start=s.quiet_start, quiet_end=s.quiet_end)
            for s in spec.subscribers
        ],
    )
    session.add(scheme)
    session.flush()
    view = SchemeView.of(scheme)
    record_audit(
        session,
        at=now,
        actor=actor,
        action="scheme.add",
        entity_type=AUDIT_ENTITY,
        entity_id=scheme.id,
        after=view.audit_snapshot(),
    )
    return view


def change_scheme(
    session: Session,
    name_or_id: str,
    change: SchemeChange,
    *,
    actor: Actor | str,
    context: MatchContext,
    now: datetime | None = None,
) -> SchemeView:
    """Apply a change; a new query makes a new version (matches remember the version that found them)."""
    now = now or utcnow()
    scheme = get_scheme(session, name_or_id)
    before = SchemeView.of(scheme)
    values = before.model_dump(exclude={"id", "version", "created_at", "created_by", "updated_at", "updated_by"})
    for field in (
        "name",
        "purpose",
        "owner",
        "query",
        "alert_mode",
        "digest_period",
        "spike_ratio",
        "spike_min_count",
    ):
        value = getattr(change, field)
        if value is not None:
            values[field] = value
    if change.clear_window:
        values["active_from"] = values["active_until"] = None
    if change.active_from is not None:
        values["active_from"] = change.active_from
    if change.active_until is not None:
        values["active_until"] = change.active_until
    removed = set(change.remove_subscribers)
    known = {f"{s['kind']}:{s['id']}" for s in values["subscribers"]}
    missing = sorted(removed - known)
    if missing:
        raise SchemeInvalid(f"{', '.join(missing)} is not a subscriber of {scheme.name!r}; it has {sorted(known)}")
    kept = [s for s in values["subscribers"] if f"{s['kind']}:{s['id']}" not in removed]
    values["subscribers"] = kept + [s.model_dump() for s in change.add_subscribers]
    try:
        spec = SchemeSpec.model_validate(values)
    except ValueError as exc:
        raise SchemeInvalid(str(exc)) from exc
    if spec.query != scheme.query:
        check_query(spec.query, context)
    _check_subscribers(spec.subscribers, context)
    if spec.name != scheme.name and session.scalar(select(Scheme.id).where(Scheme.name == spec.name)):
        raise SchemeInvalid(f"a scheme named {spec.name!r} exists; choose another name")
    if spec.query != scheme.query:
        scheme.version += 1
    for field in (
        "name",
        "purpose",
        "owner",
        "query",
        "active_from",
        "active_until",
        "alert_mode",
        "digest_period",
        "spike_ratio",
        "spike_min_count",
    ):
        setattr(scheme, field, getattr(spec, field))
    wanted: dict[tuple[str, str], Subscriber] = {(s.kind, s.id): s for s in spec.subscribers}
    for row in list(scheme.subscribers):
        subscriber = wanted.pop((row.kind, row.subscriber), None)
        if subscriber is None:
            scheme.subscribers.remove(row)
        else:
            row.quiet_start, row.quiet_end = subscriber.quiet_start, subscriber.quiet_end
    for subscriber in wanted.values():
        scheme.subscribers.append(
            SchemeSubscriber(
                kind=subscriber.kind,
                subscriber=subscriber.id,
                quiet_start=subscriber.quiet_start,
                quiet_end=subscriber.quiet_end,
            )
        )
    scheme.updated_at = now
    scheme.updated_by = _actor_name(actor)
    session.flush()
    after = SchemeView.of(scheme)
    old, new = changed_fields(before.audit_snapshot(), after.audit_snapshot())
    record_audit(
        session,
        at=now,
        actor=actor,
        action="scheme.change",
        entity_type=AUDIT_ENTITY,
        entity_id=scheme.id,
        before=old,
        after=new,
    )
    return after


def delete_scheme(session: Session, name_or_id: str, *, actor: Actor | str, now: datetime | None = None) -> SchemeView:
    """Delete a scheme with its subscribers, matches and alerts; the audit row keeps the whole scheme."""
    now = now or utcnow()
    scheme = get_scheme(session, name_or_id)
    view = SchemeView.of(scheme)
    session.execute(delete(SchemeAlert).where(SchemeAlert.scheme_id == scheme.id))
    session.execute(delete(SchemeMatch).where(SchemeMatch.scheme_id == scheme.id))
    session.delete(scheme)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="scheme.delete",
        entity_type=AUDIT_ENTITY,
        entity_id=view.id,
        before=view.audit_snapshot(),
    )
    return view


def query_error_input(exc: QueryError) -> SchemeInvalid:
    """A query error as the workflow's `InvalidInput`, for callers (the API) that map those to HTTP 422."""
    return SchemeInvalid(str(exc))
