"""Accounts, passwords (argon2id) and tokens (bearer tokens and cookie sessions).

Only hashes are stored: argon2 for passwords, SHA-256 for token and CSRF secrets (they are long
random strings, so a fast hash is enough). A cookie session also gets a CSRF token that the browser
must echo in a header on every unsafe request; bearer tokens are not sent automatically by a
browser and need none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from patrol.workflow.actors import Actor, Permission, Role, require
from patrol.workflow.audit import record_audit
from patrol.workflow.errors import AuthenticationFailed, InvalidInput, NotFound
from patrol.workflow.models import AuthToken, User
from patrol.workflow.units import UnitDirectory

TokenKind = Literal["bearer", "session"]
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
MAX_FAILED_LOGINS = 10
LOCKOUT = timedelta(minutes=15)
TOKEN_TTL = timedelta(hours=12)

#: argon2id with the library's defaults (RFC 9106 "low memory" profile); deployments and tests may
#: pass their own `PasswordHasher` to the functions below.
DEFAULT_HASHER = PasswordHasher()
_DUMMY_PASSWORD = "not a password of anyone"


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return (hasher or DEFAULT_HASHER).hash(password)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(_DUMMY_PASSWORD)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")


def actor_of(user: User) -> Actor:
    return Actor(username=user.username, role=Role(user.role), unit_id=user.unit_id)


def _validate_role(role: str, unit_id: str | None, units: UnitDirectory) -> tuple[Role, str | None]:
    try:
        parsed = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; use one of {[r.value for r in Role]}") from None
    if parsed is Role.FIELD_UNIT:
        if not unit_id:
            raise InvalidInput(f"a field unit account needs its unit (one of {units.ids()})")
        units.get(unit_id)
        return parsed, unit_id
    if unit_id:
        raise InvalidInput("only field unit accounts belong to a unit; leave unit empty")
    return parsed, None


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    units: UnitDirectory,
    now: datetime,
    unit_id: str | None = None,
    email: str | None = None,
    display_name: str = "",
    hasher: PasswordHasher | None = None,
) -> User:
    require(actor, Permission.USERS_MANAGE)
    if not USERNAME.match(username):
        raise InvalidInput("a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if session.get(User, username) is not None:
        raise InvalidInput(f"user {username!r} exists; choose another username")
    _check_password_rules(password)
    parsed_role, unit = _validate_role(role, unit_id, units)
    user = User(
        username=username,
        display_name=display_name,
        role=parsed_role.value,
        unit_id=unit,
        email=email,
        password_hash=hash_password(password, hasher),
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="user.created",
        entity_type="user",
        entity_id=username,
        after={"role": user.role, "unit_id": unit, "email": email, "active": True},
    )
    return user


def update_user(
    session: Session,
    actor: Actor,
    username: str,
    *,
    units: UnitDirectory,
    now: datetime,
    role: str | None = None,
    unit_id: str | None = None,
    email: str | None = None,
    active: bool | None = None,
    password: str | None = None,
    hasher: PasswordHasher | None = None,
) -> User:
    require(actor, Permission.USERS_MANAGE)
    user = session.get(User, username)
    if user is None:
        raise NotFound(f"no user {username}")
    before = {"role": user.role, "unit_id": user.unit_id, "email": user.email, "active": user.active}
    if role is not None or unit_id is not None:
        new_role, new_unit = _validate_role(role or user.role, unit_id if unit_id is not None else user.unit_id, units)
        user.role, user.unit_id = new_role.value, new_unit
    if email is not None:
        user.email = email or None
    if active is not None:
        user.active = active
    if password is not None:
        _check_password_rules(password)
        user.password_hash = hash_password(password, hasher)
        user.failed_logins, user.locked_until = 0, None
    changed_auth = password is not None or active is False or role is not None or unit_id is not None
    if changed_auth:
        # A changed password or role must not leave old sessions with the old rights.
        session.execute(
            update(AuthToken)
            .where(AuthToken.username == username, AuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    after = {
        "role": user.role,
        "unit_id": user.unit_id,
        "email": user.email,
        "active": user.active,
        "password_changed": password is not None,
    }
    record_audit(
        session,
        at=now,
        actor=actor,
        action="user.updated",
        entity_type="user",
        entity_id=username,
        before=before,
        after=after,
    )
    return user


def authenticate(
    session: Session, username: str, password: str, *, now: datetime, hasher: PasswordHasher | None = None
) -> User:
    """The user, if the password matches and the account is usable; one vague error otherwise."""
    hasher = hasher or DEFAULT_HASHER
    refused = AuthenticationFailed("wrong username or password, or the account is locked; ask an admin if stuck")
    user = session.get(User, username)
    if user is None:
        # Spend the same time as for a real account, so a wrong username cannot be told apart.
        with suppress(VerificationError):
            hasher.verify(_dummy_hash(hasher), password)
        raise refused
    if not user.active or (user.locked_until is not None and user.locked_until > now):
        raise refused
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.failed_logins, user.locked_until = 0, now + LOCKOUT
        raise refused from None
    user.failed_logins, user.locked_until = 0, None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password, hasher)
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: str
    kind: TokenKind
    expires_at: datetime
    csrf_token: str | None = None


def issue_token(
    session: Session, user: User, *, kind: TokenKind, now: datetime, ttl: timedelta = TOKEN_TTL
) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if kind == "session" else None
    session.add(
        AuthToken(
            token_hash=_sha256(token),
            username=user.username,
            kind=kind,
            csrf_hash=_sha256(csrf) if csrf else None,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    record_audit(
        session,
        at=now,
        actor=user.username,
        action="auth.login",
        entity_type="user",
        entity_id=user.username,
        after={"kind": kind, "expires_at": now + ttl},
    )
    return IssuedToken(token=token, kind=kind, expires_at=now + ttl, csrf_token=csrf)


@dataclass(frozen=True)
class ResolvedToken:
    user: User
    kind: TokenKind
    csrf_hash: str | None

    def csrf_matches(self, presented: str | None) -> bool:
        return bool(presented and self.csrf_hash and hmac.compare_digest(_sha256(presented), self.csrf_hash))


def resolve_token(
    session: Session, token: str, *, now: datetime, kind: TokenKind | None = None
) -> ResolvedToken | None:
    row = session.get(AuthToken, _sha256(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now or (kind and row.kind != kind):
        return None
    user = session.get(User, row.username)
    if user is None or not user.active:
        return None
    return ResolvedToken(user=user, kind="session" if row.kind == "session" else "bearer", csrf_hash=row.csrf_hash)


def revoke_token(session: Session, token: str, *, now: datetime) -> bool:
    row = session.get(AuthToken, _sha256(token))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    record_audit(
        session,
        at=now,
        actor=row.username,
        action="auth.logout",
        entity_type="user",
        entity_id=row.username,
        after={"kind": row.kind},
    )
    return True


def list_users(session: Session, actor: Actor) -> list[User]:
    require(actor, Permission.USERS_MANAGE)
    return list(session.scalars(select(User).order_by(User.username)))
