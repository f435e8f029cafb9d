"""The JSON API end to end: login (bearer and cookie + CSRF), role checks, the whole item -> task -> outcome path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from patrol.api.app import create_app
from patrol.api.context import CSRF_HEADER, SESSION_COOKIE, ApiContext
from patrol.thresholds import Thresholds
from patrol.workflow.actors import SYSTEM
from patrol.workflow.auth import create_user
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.evidence import EvidenceStore
from patrol.workflow.flagging import open_review_items
from patrol.workflow.policy import WorkflowPolicy, load_workflow_policy
from patrol.workflow.testing import PG_SKIP_REASON, postgres_test_url, workflow_db
from tests.conftest import BASE_TIME, make_analysed

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# Real argon2id, with small costs so a test logs in quickly.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "a long enough password"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
ACCOUNTS = {
    "olga": ("patrol_officer", None),
    "sam": ("reviewer", None),
    "heping": ("field_unit", "xf-heping"),
    "qunli": ("field_unit", "dl-qunli"),
    "ana": ("analyst", None),
    "root": ("admin", None),
}


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowDb]:
    if request.param == "postgres" and postgres_test_url() is None:
        pytest.skip(PG_SKIP_REASON)
    with workflow_db(request.param, tmp_path) as database:
        yield database


@pytest.fixture(scope="module")
def policy() -> WorkflowPolicy:
    return load_workflow_policy()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BASE_TIME)


@pytest.fixture
def client(db: WorkflowDb, policy: WorkflowPolicy, clock: ManualClock, tmp_path: Path) -> Iterator[TestClient]:
    with db.session() as s:
        for name, (role, unit) in ACCOUNTS.items():
            create_user(
                s,
                SYSTEM,
                username=name,
                password=PASSWORD,
                role=role,
                units=policy.units,
                now=clock.now(),
                unit_id=unit,
                hasher=FAST_HASHER,
            )
    context = ApiContext(
        db=db,
        policy=policy,
        evidence=EvidenceStore(tmp_path / "evidence", policy.evidence),
        clock=clock,
        hasher=FAST_HASHER,
        cookie_secure=False,
    )
    with TestClient(create_app(context)) as test_client:
        yield test_client


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def flag(db: WorkflowDb, clock: ManualClock, native_id: str, category: str, jurisdiction: str = "xf-heping") -> None:
    post = make_analysed(native_id, "x", ["x"], scores={category: 0.9}, jurisdiction=jurisdiction)
    with db.session() as s:
        open_review_items(s, [post], Thresholds(default=0.5), max_distance=3, now=clock.now())


def test_login_with_bearer_and_with_cookie_plus_csrf(client: TestClient) -> None:
    assert client.get("/api/v1/items").status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "olga", "password": "wrong password"}).status_code == 401
    headers = bearer(client, "olga")
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "patrol_officer"

    session = client.post("/api/v1/auth/session", json={"username": "olga", "password": PASSWORD})
    assert session.status_code == 200
    cookie_header = session.headers["set-cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=strict" in cookie_header.replace("Strict", "strict")
    csrf = session.json()["csrf_token"]
    assert client.get("/api/v1/items").status_code == 200, "a GET needs only the cookie"
    refused = client.post("/api/v1/items/claim-next")
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["detail"]
    assert client.post("/api/v1/items/claim-next", headers={CSRF_HEADER: "guess"}).status_code == 403
    assert client.post("/api/v1/items/claim-next", headers={CSRF_HEADER: csrf}).status_code == 204
    assert client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/items", cookies={SESSION_COOKIE: session.cookies[SESSION_COOKIE]}).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_ten_wrong_passwords_lock_the_account(client: TestClient, clock: ManualClock) -> None:
    for _ in range(10):
        client.post("/api/v1/auth/token", json={"username": "ana", "password": "not the password"})
    locked = client.post("/api/v1/auth/token", json={"username": "ana", "password": PASSWORD})
    assert locked.status_code == 401
    clock.advance(minutes=16)
    assert client.post("/api/v1/auth/token", json={"username": "ana", "password": PASSWORD}).status_code == 200


def test_role_checks_and_a_field_unit_gets_404_for_another_units_task(
    client: TestClient, db: WorkflowDb, clock: ManualClock
) -> None:
    flag(db, clock, "gas", "public_hazard")
    olga = bearer(client, "olga")
    item = client.post("/api/v1/items/claim-next", headers=olga).json()
    task = client.post(f"/api/v1/items/{item['id']}/escalate", headers=olga, json={}).json()
    assert task["unit_id"] == "xf-heping" and task["routed_by"] == "jurisdiction"

    heping, qunli = bearer(client, "heping"), bearer(client, "qunli")
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=heping).status_code == 200
    other_unit = client.get(f"/api/v1/tasks/{task['id']}", headers=qunli)
    missing = client.get("/api/v1/tasks/vt-0000", headers=qunli)
    assert other_unit.status_code == missing.status_code == 404
    assert "unit" not in other_unit.text and task["unit_id"] not in other_unit.text
    assert client.post(f"/api/v1/tasks/{task['id']}/accept", headers=qunli).status_code == 404
    assert client.get("/api/v1/tasks", headers=qunli).json()["total"] == 0
    assert client.get("/api/v1/tasks?unit=xf-heping", headers=qunli).json()["total"] == 0

    forbidden = {
        "heping": [
            ("GET", "/api/v1/items"),
            ("GET", f"/api/v1/items/{item['id']}"),
            ("GET", "/api/v1/stats/precision"),
            ("POST", f"/api/v1/tasks/{task['id']}/cancel"),
        ],
        "ana": [("GET", "/api/v1/items"), ("GET", "/api/v1/tasks"), ("GET", "/api/v1/audit")],
        "olga": [
            ("GET", "/api/v1/users"),
            ("GET", "/api/v1/audit"),
            ("POST", f"/api/v1/tasks/{task['id']}/cancel"),
            ("GET", "/api/v1/stats/precision"),
        ],
        "sam": [("GET", "/api/v1/users"), ("GET", "/api/v1/channels")],
    }
    for username, calls in forbidden.items():
        headers = bearer(client, username)
        for method, url in calls:
            response = client.request(method, url, headers=headers, json={"reason": "x"})
            assert response.status_code == 403, (username, method, url, response.status_code)
            assert response.json()["error"] == "forbidden"
    assert client.get("/api/v1/stats/precision", headers=bearer(client, "ana")).status_code == 200
    assert client.get("/api/v1/users", headers=bearer(client, "root")).status_code == 200


def test_from_flag_to_outcome_through_the_api(client: TestClient, db: WorkflowDb, clock: ManualClock) -> None:
    flag(db, clock, "leak", "public_hazard")
    flag(db, clock, "spam", "gambling")
    flag(db, clock, "note", "self_harm", jurisdiction="dl-qunli")
    olga, sam, heping = bearer(client, "olga"), bearer(client, "sam"), bearer(client, "heping")

    queue = client.get("/api/v1/items", headers=olga).json()
    assert queue["total"] == 3 and queue["items"][0]["category"] == "self_harm", "life-safety first"
    by_category = {i["category"]: i["id"] for i in queue["items"]}
    detail = client.get(f"/api/v1/items/{by_category['public_hazard']}", headers=olga).json()
    assert detail["posts"][0]["evidence"][0]["rule"] == "public_hazard.test"

    dismissed = client.post(
        "/api/v1/items/bulk",
        headers=olga,
        json={"action": "dismiss", "item_ids": [by_category["gambling"]], "reason": "false_positive"},
    )
    assert dismissed.json()["succeeded"] == 1
    leak = by_category["public_hazard"]
    assert (
        client.post(f"/api/v1/items/{leak}/dismiss", headers=olga, json={"reason": "not_actionable"}).status_code == 409
    ), "not claimed yet"
    assert client.post(f"/api/v1/items/{leak}/claim", headers=olga).json()["claimed_by"] == "olga"
    assert client.post(f"/api/v1/items/{leak}/claim", headers=sam).status_code == 409
    task = client.post(
        f"/api/v1/items/{leak}/escalate",
        headers=olga,
        json={"priority": "urgent", "instructions": "check the 3rd floor"},
    )
    assert task.status_code == 201
    task_id = task.json()["id"]

    for step in ("accept", "start"):
        assert client.post(f"/api/v1/tasks/{task_id}/{step}", headers=heping).status_code == 200
    assert (
        client.post(
            f"/api/v1/tasks/{task_id}/findings", headers=heping, json={"text": "燃气表后阀门漏气，已关阀"}
        ).status_code
        == 201
    )
    upload = client.post(
        f"/api/v1/tasks/{task_id}/evidence",
        headers=heping,
        files={"file": ("scene.png", PNG, "application/octet-stream")},
    )
    assert upload.status_code == 201 and upload.json()["content_type"] == "image/png"
    refused = client.post(
        f"/api/v1/tasks/{task_id}/evidence",
        headers=heping,
        files={"file": ("run.png", b"MZ" + bytes(100), "image/png")},
    )
    assert refused.status_code == 422 and refused.json()["error"] == "evidence_rejected"
    download = client.get(f"/api/v1/tasks/{task_id}/evidence/{upload.json()['id']}", headers=heping)
    assert download.content == PNG and download.headers["x-content-sha256"] == upload.json()["sha256"]
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=heping, json={"outcome": "confirmed"})
    assert done.json()["status"] == "completed"

    stats = client.get("/api/v1/stats/precision", headers=sam).json()
    by_key = {row["key"]: row for row in stats["by_category"]}
    assert by_key["public_hazard"]["precision"] == 1.0 and by_key["gambling"]["precision"] == 0.0
    assert by_key["self_harm"]["pending"] == 1
    trail = [row["action"] for row in client.get(f"/api/v1/items/{leak}/audit", headers=sam).json()]
    assert trail == ["item.created", "item.viewed", "item.claimed", "item.escalated"]
    assert client.get("/api/v1/audit/verify", headers=sam).json()["ok"] is True


def test_openapi_documents_both_ways_to_log_in(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert any(s.get("in") == "cookie" for s in schemes.values())
    assert "/api/v1/tasks/{task_id}" in schema["paths"]
