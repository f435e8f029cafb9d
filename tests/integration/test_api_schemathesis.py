"""Property-based run of the whole API against its own OpenAPI schema: no input may cause a server error.

Bounded (a few examples per operation) so it stays well under a minute; every request runs as an
admin with a fresh token (so even `POST /auth/logout` cannot lock the run out) against a database
seeded with an item, a task and a shift, so valid and invalid ids both occur.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from patrol.api.app import create_app
from patrol.api.context import ApiContext
from patrol.workflow import items as review
from patrol.workflow.actors import SYSTEM, Actor, Role
from patrol.workflow.auth import issue_token
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.models import User
from patrol.workflow.policy import load_workflow_policy
from patrol.workflow.shifts import assign_shift
from patrol.workflow.testing import add_test_user, seed_review_items
from tests.conftest import BASE_TIME

ADMIN = "fuzz-admin"


class FuzzedApp:
    def __init__(self, root: Path) -> None:
        policy = load_workflow_policy()
        self.clock = ManualClock(BASE_TIME)
        self.db = WorkflowDb(f"sqlite:///{root / 'workflow.db'}")
        now = self.clock.now()
        with self.db.session() as s:
            add_test_user(s, ADMIN, "admin", now=now)
            add_test_user(s, "olga", "patrol_officer", now=now)
            item_ids = seed_review_items(s, 5, now=now)
            officer = Actor("olga", Role.PATROL_OFFICER)
            review.claim_item(s, policy, officer, item_ids[0], now=now)
            review.escalate_item(s, policy, officer, item_ids[0], now=now, unit="xf-heping")
            assign_shift(s, policy, SYSTEM, "2026-11-27.evening", [("olga", "officer")], now=now)
        context = ApiContext(
            db=self.db,
            policy=policy,
            evidence=EvidenceStore(root / "evidence", policy.evidence),
            clock=self.clock,
            hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
            cookie_secure=False,
        )
        self.app: FastAPI = create_app(context)
        self._token: str | None = None

    def headers(self, case: schemathesis.Case) -> dict[str, str]:
        # A fresh token after anything that may have revoked the last one (logout, account changes).
        if self._token is None or case.method != "GET":
            with self.db.session() as s:
                user = s.get(User, ADMIN)
                assert user is not None
                self._token = issue_token(s, user, kind="bearer", now=self.clock.now()).token
        return {"Authorization": f"Bearer {self._token}"}


EXAMPLES_PER_OPERATION = 5


def test_no_input_causes_a_server_error(tmp_path: Path) -> None:
    fuzzed = FuzzedApp(tmp_path)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=fuzzed.headers(case), checks=[not_a_server_error])

            try:
                call()
            except Unsatisfiable:
                continue  # nothing to get wrong: e.g. no parameters to make invalid
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {str(exc)[:2000]}")
    fuzzed.db.dispose()
    assert operations >= 40
    assert not failures, "\n\n".join(failures)
