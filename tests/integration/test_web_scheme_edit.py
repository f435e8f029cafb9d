"""Creating, changing and deleting schemes in the console: the backtest comes first, the confirm button
saves, every change is audited, and only analysts and admins may do it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from patrol.config import Settings
from patrol.schemes.context import context_for
from patrol.schemes.live import backfill_scheme
from patrol.schemes.registry import AUDIT_ENTITY, SchemeSpec, add_scheme, list_schemes
from patrol.web.app import create_console_app
from patrol.web.build import close_console_context
from patrol.web.context import ConsoleContext
from patrol.web.testing import SHIFT_START, SeededFolder, console_for_tests, copy_folder, login, make_seeded_folder
from patrol.workflow.clock import ManualClock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import AuditEntry

EXISTING = "枪支与面馆"


@dataclass(frozen=True)
class _Runtime:
    settings: Settings
    workflow: WorkflowDb


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededFolder:
    folder = make_seeded_folder(tmp_path_factory.mktemp("seeded"))
    context = console_for_tests(folder.data_dir, ManualClock(SHIFT_START))
    try:
        with context.api.db.session() as session:
            view = add_scheme(
                session,
                SchemeSpec(name=EXISTING, purpose="跟踪出售枪支的帖子", owner="analyst-li", query="枪支 OR 面馆"),
                actor="ana",
                context=context_for(context.settings),
                now=SHIFT_START - timedelta(days=1),
            )
        backfill_scheme(_Runtime(context.settings, context.api.db), view.id, days=7, now=SHIFT_START)
    finally:
        close_console_context(context)
    return folder


@pytest.fixture
def console(seeded: SeededFolder, tmp_path: Path) -> Iterator[ConsoleContext]:
    context = console_for_tests(copy_folder(seeded, tmp_path / "data"), ManualClock(SHIFT_START))
    yield context
    close_console_context(context)


@pytest.fixture
def client(console: ConsoleContext) -> Iterator[TestClient]:
    with TestClient(create_console_app(console)) as test_client:
        yield test_client


def schemes_by_name(console: ConsoleContext) -> dict[str, str]:
    with console.api.db.read_session() as session:
        return {view.name: view.id for view in list_schemes(session)}


def scheme_audit(console: ConsoleContext) -> list[tuple[str, str, str]]:
    with console.api.db.read_session() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == AUDIT_ENTITY)).all()
        return [(row.action, row.actor, row.entity_id) for row in rows]


def new_form(csrf: str, **changes: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "name": "面馆广告",
        "purpose": "跟踪面馆收定金的广告",
        "query": "面馆",
        "start": "",
        "end": "",
        "alert_mode": "digest",
        "subscribers": "unit:xf-branch",
    } | changes


def test_preview_shows_the_backtest_and_saves_nothing_until_confirmed(
    client: TestClient, console: ConsoleContext
) -> None:
    csrf = login(client, "ana")
    assert "/schemes/new" in client.get("/schemes").text
    assert client.get("/schemes/new").status_code == 200
    before = scheme_audit(console)
    page = client.post("/schemes/preview", data=new_form(csrf))
    assert page.status_code == 200
    matches = re.search(r'class="backtest-matches">(\d+)<', page.text)
    assert matches is not None and int(matches.group(1)) >= 1
    assert "Examples" in page.text and "2026-" in page.text  # per-day rows
    assert 'action="/schemes/save"' in page.text
    assert "面馆广告" not in schemes_by_name(console) and scheme_audit(console) == before

    fields = dict(
        re.findall(
            r'<input type="hidden" name="(\w+)" value="([^"]*)">',
            page.text.split("/schemes/save")[1].split("</form>")[0],
        )
    )
    assert fields["query"] == "面馆" and fields["csrf_token"] == csrf
    saved = client.post("/schemes/save", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    new_id = schemes_by_name(console)["面馆广告"]
    assert saved.headers["location"] == f"/schemes/{new_id}"
    assert ("scheme.add", "ana", new_id) in scheme_audit(console)
    shown = client.get(f"/schemes/{new_id}")
    assert shown.status_code == 200 and "跟踪面馆收定金的广告" in shown.text and "unit:xf-branch" in shown.text


def test_a_malformed_query_shows_the_parser_position_and_saves_nothing(
    client: TestClient, console: ConsoleContext
) -> None:
    csrf = login(client, "ana")
    for path in ("/schemes/preview", "/schemes/save"):
        response = client.post(path, data=new_form(csrf, query="面馆 AND (枪支"))
        assert response.status_code == 400, path
        assert "does not parse" in response.text and re.search(r"At column \d+ \(position \d+\)", response.text)
        assert 'value="面馆 AND (枪支"' in response.text  # the form keeps what was typed
    assert "面馆广告" not in schemes_by_name(console)


def test_a_missing_purpose_is_refused_on_the_form(client: TestClient, console: ConsoleContext) -> None:
    csrf = login(client, "ana")
    response = client.post("/schemes/save", data=new_form(csrf, purpose=""))
    assert response.status_code == 400 and "purpose" in response.text
    assert "面馆广告" not in schemes_by_name(console)


def test_edit_compares_with_the_current_version_then_saves_a_new_version(
    client: TestClient, console: ConsoleContext
) -> None:
    csrf = login(client, "root")
    sid = schemes_by_name(console)[EXISTING]
    page = client.get(f"/schemes/{sid}")
    assert 'action="/schemes/preview"' in page.text and 'action="/schemes/delete"' in page.text
    form = {
        "csrf_token": csrf,
        "scheme_id": sid,
        "name": EXISTING,
        "purpose": "跟踪出售枪支的帖子",
        "query": "枪支",
        "alert_mode": "realtime",
        "subscribers": "",
    }
    preview = client.post("/schemes/preview", data=form)
    assert preview.status_code == 200
    assert "current (v1)" in preview.text and "Current version v1" in preview.text
    assert "only the current one" in preview.text
    saved = client.post("/schemes/save", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/schemes/{sid}"
    with console.api.db.read_session() as session:
        view = {v.id: v for v in list_schemes(session)}[sid]
    assert view.query == "枪支" and view.version == 2
    assert ("scheme.change", "root", sid) in scheme_audit(console)


def test_delete_removes_the_scheme_and_is_audited(client: TestClient, console: ConsoleContext) -> None:
    csrf = login(client, "ana")
    sid = schemes_by_name(console)[EXISTING]
    response = client.post("/schemes/delete", data={"csrf_token": csrf, "scheme_id": sid}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/schemes"
    assert EXISTING not in schemes_by_name(console)
    assert ("scheme.delete", "ana", sid) in scheme_audit(console)
    assert client.get(f"/schemes/{sid}").status_code == 404


@pytest.mark.parametrize("username", ["olga", "heping", "sam"])
def test_officers_reviewers_and_field_units_may_not_change_schemes(
    client: TestClient, console: ConsoleContext, username: str
) -> None:
    csrf = login(client, username)
    sid = schemes_by_name(console)[EXISTING]
    before = scheme_audit(console)
    assert client.get("/schemes/new").status_code == 403
    assert client.post("/schemes/preview", data=new_form(csrf)).status_code == 403
    assert client.post("/schemes/save", data=new_form(csrf)).status_code == 403
    assert client.post("/schemes/delete", data={"csrf_token": csrf, "scheme_id": sid}).status_code == 403
    assert scheme_audit(console) == before and set(schemes_by_name(console)) == {EXISTING}
    if username == "olga":  # reads the scheme, but is offered no edit form
        page = client.get(f"/schemes/{sid}").text
        assert "/schemes/delete" not in page and "/schemes/preview" not in page


def test_forms_without_the_csrf_token_are_refused(client: TestClient, console: ConsoleContext) -> None:
    login(client, "ana")
    sid = schemes_by_name(console)[EXISTING]
    form = new_form("")
    del form["csrf_token"]
    for path, data in (
        ("/schemes/preview", form),
        ("/schemes/save", form),
        ("/schemes/delete", {"scheme_id": sid}),
    ):
        response = client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403 and "Form refused" in response.text, path
    assert set(schemes_by_name(console)) == {EXISTING} and len(scheme_audit(console)) == 1
