"""What every request handler needs, built once per app and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher

from patrol.workflow.auth import DEFAULT_HASHER, TOKEN_TTL
from patrol.workflow.clock import Clock, SystemClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.policy import WorkflowPolicy

SESSION_COOKIE = "patrol_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class ApiContext:
    db: WorkflowDb
    policy: WorkflowPolicy
    evidence: EvidenceStore
    clock: Clock = field(default_factory=SystemClock)
    hasher: PasswordHasher = DEFAULT_HASHER
    token_ttl: timedelta = TOKEN_TTL
    #: Send the session cookie only over HTTPS; switch off for plain-HTTP development setups only.
    cookie_secure: bool = True
