"""Console security over a real database: headers, cookies, login CSRF and rate limiting, CSRF on
every form route, a role check on every route, and hostile crawled content escaped in the HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from patrol.web.app import create_console_app
from patrol.web.build import close_console_context
from patrol.web.context import ConsoleContext
from patrol.web.security import CONTENT_SECURITY_POLICY
from patrol.web.testing import (
    SHIFT_START,
    SeededFolder,
    console_for_tests,
    copy_folder,
    login,
    make_seeded_folder,
)
from patrol.workflow.clock import ManualClock
from patrol.workflow.models import ReviewItem

# Probes and the Prometheus scrape carry no post content or names; restrict them at the proxy.
PUBLIC_PATHS = {"/login", "/healthz", "/readyz", "/metrics", "/favicon.ico"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededFolder:
    return make_seeded_folder(tmp_path_factory.mktemp("seeded"))


@pytest.fixture
def console(seeded: SeededFolder, tmp_path: Path) -> Iterator[ConsoleContext]:
    context = console_for_tests(copy_folder(seeded, tmp_path / "data"), ManualClock(SHIFT_START))
    yield context
    close_console_context(context)


@pytest.fixture
def client(console: ConsoleContext) -> Iterator[TestClient]:
    with TestClient(create_console_app(console)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_app(seeded: SeededFolder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One console for the tests that only read or are refused (they change nothing)."""
    context = console_for_tests(
        copy_folder(seeded, tmp_path_factory.mktemp("shared") / "data"), ManualClock(SHIFT_START)
    )
    with TestClient(create_console_app(context)) as test_client:
        yield test_client
    close_console_context(context)


@pytest.fixture
def reader(shared_app: TestClient) -> TestClient:
    shared_app.cookies.clear()
    return shared_app


def routes(client: TestClient) -> list[APIRoute]:
    return [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]


def test_every_route_checks_the_role(reader: TestClient) -> None:
    unguarded = []
    for route in routes(reader):
        guards = [d.call for d in route.dependant.dependencies if hasattr(d.call, "patrol_guard")]
        if not guards and route.path not in PUBLIC_PATHS:
            unguarded.append(route.path)
        if "POST" in route.methods and route.path != "/login":
            assert all(vars(g)["patrol_guard"][0] == "form" for g in guards), (
                f"{route.path}: a POST needs the CSRF check"
            )
    assert unguarded == []


def test_every_form_route_refuses_a_post_without_the_csrf_token(
    client: TestClient, console: ConsoleContext, seeded: SeededFolder
) -> None:
    login(client, "root")
    item_id = seeded.data.item_of["fraud"]
    values = {
        "item_id": item_id,
        "task_id": "vt-none",
        "handover_id": "ho-2026-11-27.evening",
        "username": "olga",
        "search_id": "ss-none",
        "evidence_id": "ef-none",
    }
    posts = [r for r in routes(client) if "POST" in r.methods and r.path != "/login"]
    assert len(posts) >= 25
    for route in posts:
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)
        response = client.post(path, data={"reason": "false_positive", "text": "x", "username": "evil1"})
        assert response.status_code == 403 and "Form refused" in response.text, path
        forged = client.post(path, data={"csrf_token": "guessed"})
        assert forged.status_code == 403, path
    with console.api.db.read_session() as session:
        assert session.get(ReviewItem, item_id).status == "new"  # type: ignore[union-attr]


def test_a_form_from_another_site_is_refused_even_with_the_token(client: TestClient, seeded: SeededFolder) -> None:
    csrf = login(client, "olga")
    item_id = seeded.data.item_of["fraud"]
    cross = client.post(
        f"/items/{item_id}/claim",
        data={"csrf_token": csrf},
        headers={"Origin": "http://evil.test", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    same = client.post(
        f"/items/{item_id}/claim",
        data={"csrf_token": csrf},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 200 and "You hold item" in same.text


@pytest.mark.parametrize(
    ("username", "method", "path"),
    [
        ("heping", "GET", "/queue"),
        ("heping", "GET", "/items/{item}"),
        ("heping", "GET", "/search?q=x"),
        ("heping", "GET", "/handover"),
        ("heping", "POST", "/items/{item}/claim"),
        ("olga", "GET", "/admin"),
        ("olga", "GET", "/admin/thresholds"),
        ("olga", "POST", "/admin/users"),
        ("olga", "GET", "/tasks"),
        ("olga", "GET", "/trends"),
        ("olga", "POST", "/items/{item}/reopen"),
        ("ana", "GET", "/items/{item}"),
        ("ana", "POST", "/items/{item}/dismiss"),
        ("sam", "POST", "/admin/thresholds/save"),
    ],
)
def test_roles_are_checked(reader: TestClient, seeded: SeededFolder, username: str, method: str, path: str) -> None:
    csrf = login(reader, username)
    url = path.replace("{item}", seeded.data.item_of["fraud"])
    response = reader.get(url) if method == "GET" else reader.post(url, data={"csrf_token": csrf, "reason": "x"})
    assert response.status_code == 403
    assert "Not allowed" in response.text


def test_pages_need_a_login(reader: TestClient) -> None:
    page = reader.get("/queue?view=mine", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fqueue%3Fview%3Dmine"
    assert reader.get("/queue/rows", headers={"X-Patrol-Fragment": "1"}).status_code == 401
    assert reader.post("/items/ri-x/claim", data={}).status_code == 401


def test_headers_keep_scripts_to_our_own_files(reader: TestClient) -> None:
    for path in ("/login", "/static/console.js", "/api/v1/healthz"):
        headers = reader.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    script_src = re.search(r"script-src ([^;]+)", CONTENT_SECURITY_POLICY)
    assert script_src is not None and script_src.group(1) == "'self'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_session_cookies_are_httponly_strict_and_secure_behind_tls(console: ConsoleContext) -> None:
    console.cookie_security = "auto"
    app = create_console_app(console)
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with TestClient(app, base_url=base) as client:
            page = client.get("/login")
            token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
            assert token is not None
            response = client.post(
                "/login",
                data={"username": "olga", "password": "a long enough password", "login_csrf": token.group(1)},
                follow_redirects=False,
            )
            cookies = [
                c for c in response.headers.get_list("set-cookie") if c.startswith(("patrol_session=", "patrol_csrf="))
            ]
            assert len(cookies) == 2
            for cookie in cookies:
                assert "HttpOnly" in cookie and "SameSite=strict" in cookie
                assert ("Secure" in cookie) is secure


def test_login_needs_its_form_token_and_is_rate_limited(client: TestClient) -> None:
    forged = client.post("/login", data={"username": "olga", "password": "a long enough password"})
    assert forged.status_code == 403
    for _ in range(5):
        page = client.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        wrong = client.post("/login", data={"username": "olga", "password": "not it at all", "login_csrf": token})
        assert wrong.status_code == 401
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    limited = client.post(
        "/login", data={"username": "olga", "password": "a long enough password", "login_csrf": token}
    )
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    login(client, "oleg")  # another account from the same address is not locked out


def test_login_never_redirects_off_site(client: TestClient) -> None:
    page = client.get("/login?next=//evil.test/x")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={
            "username": "olga",
            "password": "a long enough password",
            "login_csrf": token,
            "next": "//evil.test/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/queue"


def test_hostile_post_content_is_escaped_on_every_page(reader: TestClient, seeded: SeededFolder) -> None:
    login(reader, "olga")
    item = seeded.data.item_of["xss-gun"]
    pages = [
        reader.get(f"/items/{item}").text,
        reader.get("/queue").text,
        reader.get("/search", params={"q": "枪支"}).text,
        reader.get("/search", params={"q": "骗人"}).text,
    ]
    for html in pages:
        assert "<script>window" not in html and "<img src=x" not in html and "<svg/onload" not in html
        assert 'href="javascript:' not in html.lower()
        assert "\u202e" not in html and "\u202c" not in html
    item_page = pages[0]
    assert "&lt;script&gt;window.__patrol_xss = 1;" in item_page, "shown as text, not dropped"
    assert '<span class="unsafe-link" title="not an http(s) link">javascript:alert(' in item_page
    assert len(re.findall(r"<script", item_page)) == 1, "only our own script tag"
