"""Monitoring schemes: what each is for, what it found, and opening a review item by hand from a match.

A scheme never opens review items by itself; an officer reading its matches may, in a category they
choose and with a note (`patrol.workflow.manual`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.config import Settings
from patrol.schema import RISK_CATEGORIES
from patrol.schemes.backtest import PreviewResult, preview
from patrol.schemes.context import context_for
from patrol.schemes.post_index import SchemePostIndex, posts_matching_scheme
from patrol.schemes.query import QueryError
from patrol.schemes.quiet_hours import LOCAL_ZONE
from patrol.schemes.registry import (
    SchemeChange,
    SchemeSpec,
    SchemeView,
    Subscriber,
    add_scheme,
    change_scheme,
    delete_scheme,
    get_scheme,
    list_schemes,
    match_counts,
)
from patrol.schemes.summary import scheme_summary
from patrol.web.charts import Series, bar_chart, line_chart
from patrol.web.routes.common import ObjectId, redirect_with_flash, run_change
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.workflow.actors import Permission, Role
from patrol.workflow.db import WorkflowDb
from patrol.workflow.errors import NotFound, PermissionDenied, WorkflowError
from patrol.workflow.manual import open_item_by_hand
from patrol.workflow.models import ReviewItemPost

router = APIRouter()
WINDOWS = (1, 7, 30, 90)
MATCHES_SHOWN = 30
#: Officers, reviewers, analysts and admins read schemes; field units do not.
READERS = (Permission.ITEMS_READ, Permission.STATS_READ)
#: Analysts and admins write schemes; both hold stats.read, the role check narrows it to them.
EDITORS = (Role.ANALYST, Role.ADMIN)
ALERT_MODES = ("realtime", "digest", "spike")
BACKTEST_DAYS = 7


@dataclass(frozen=True)
class _Runtime:
    settings: Settings
    workflow: WorkflowDb


def _require_editor(viewer: Viewer) -> None:
    if viewer.role not in EDITORS:
        raise PermissionDenied(
            f"{viewer.username} ({viewer.role.value}) may not change schemes; ask an analyst or an admin"
        )


class _FormProblem(ValueError):
    """A field the person must correct; shown on the form."""


def _local_time(value: str, label: str) -> datetime | None:
    """A datetime-local value (or a bare date), read as Asia/Shanghai time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _FormProblem(f"{label} {value!r}: write a date or time like 2026-12-05 or 2026-12-05T08:00") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL_ZONE)


def _subscribers(text: str) -> list[Subscriber]:
    found = []
    for line in (part.strip() for part in text.splitlines()):
        if not line:
            continue
        try:
            found.append(Subscriber.parse(line))
        except ValueError as exc:
            raise _FormProblem(f"subscriber {line!r}: {str(exc).splitlines()[0]}") from None
    return found


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())


def _fields(form: FormRequest) -> dict[str, str]:
    names = ("scheme_id", "name", "purpose", "query", "start", "end", "alert_mode", "subscribers")
    values = {name: form.text(name) for name in names}
    values["subscribers"] = "\n".join(line.strip() for line in values["subscribers"].splitlines() if line.strip())
    return values


def _fields_of(view: SchemeView) -> dict[str, str]:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M") if moment else ""

    return {
        "scheme_id": view.id,
        "name": view.name,
        "purpose": view.purpose,
        "query": view.query,
        "start": local(view.active_from),
        "end": local(view.active_until),
        "alert_mode": view.alert_mode,
        "subscribers": "\n".join(s.label() for s in view.subscribers),
    }


def _spec(fields: dict[str, str], owner: str) -> SchemeSpec:
    if not fields["name"] or not fields["purpose"] or not fields["query"]:
        raise _FormProblem("name, purpose and query are required")
    try:
        return SchemeSpec.model_validate(
            {
                "name": fields["name"],
                "purpose": fields["purpose"],
                "owner": owner,
                "query": fields["query"],
                "active_from": _local_time(fields["start"], "active from"),
                "active_until": _local_time(fields["end"], "active until"),
                "alert_mode": fields["alert_mode"] or "realtime",
                "subscribers": _subscribers(fields["subscribers"]),
            }
        )
    except ValidationError as exc:
        raise _FormProblem(_validation_message(exc)) from None


def _change(fields: dict[str, str], current: SchemeView) -> SchemeChange:
    """The edit form lists the whole scheme; only what differs becomes the change."""
    spec = _spec(fields, current.owner)
    wanted = {s.label(): s for s in spec.subscribers}
    had = {s.label(): s for s in current.subscribers}
    window_cleared = spec.active_from is None and spec.active_until is None
    try:
        return SchemeChange(
            name=spec.name if spec.name != current.name else None,
            purpose=spec.purpose if spec.purpose != current.purpose else None,
            query=spec.query if spec.query != current.query else None,
            active_from=spec.active_from,
            active_until=spec.active_until,
            clear_window=window_cleared and (current.active_from is not None or current.active_until is not None),
            alert_mode=spec.alert_mode if spec.alert_mode != current.alert_mode else None,
            add_subscribers=[s for label, s in wanted.items() if label not in had],
            remove_subscribers=[f"{s.kind}:{s.id}" for label, s in had.items() if label not in wanted],
        )
    except ValidationError as exc:
        raise _FormProblem(_validation_message(exc)) from None


def _form_page(
    request: Request,
    fields: dict[str, str],
    *,
    error: str | None = None,
    query_error: QueryError | None = None,
    result: PreviewResult | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "fields": fields,
        "editing": bool(fields.get("scheme_id")),
        "error": error,
        "query_error": query_error,
        "result": result,
        "alert_modes": ALERT_MODES,
    }
    return render(request, "scheme_form.html", context, status_code=status_code)


@router.get("/schemes/new")
def new_scheme_page(
    request: Request, viewer: Annotated[Viewer, Depends(page_guard(Permission.STATS_READ))]
) -> Response:
    _require_editor(viewer)
    fields = dict.fromkeys(("scheme_id", "name", "purpose", "query", "start", "end", "subscribers"), "")
    return _form_page(request, fields | {"alert_mode": "realtime"})


@router.post("/schemes/preview")
def preview_scheme(
    request: Request, form: Annotated[FormRequest, Depends(form_guard(Permission.STATS_READ))]
) -> Response:
    """The backtest, shown before anything is saved; the confirm button on it saves."""
    _require_editor(form.viewer)
    console = console_of(request)
    fields = _fields(form)
    try:
        if fields["scheme_id"]:
            with console.api.db.read_session() as session:
                current = SchemeView.of(get_scheme(session, fields["scheme_id"]))
            fields["scheme_id"] = current.id
            _change(fields, current)
        else:
            _spec(fields, form.viewer.username)
        result = preview(
            _Runtime(console.settings, console.api.db),
            fields["query"],
            days=BACKTEST_DAYS,
            name=fields["scheme_id"] or None,
            now=console.api.clock.now(),
        )
    except QueryError as exc:
        return _form_page(request, fields, query_error=exc, status_code=400)
    except _FormProblem as exc:
        return _form_page(request, fields, error=str(exc), status_code=400)
    return _form_page(request, fields, result=result)


@router.post("/schemes/save")
def save_scheme(request: Request, form: Annotated[FormRequest, Depends(form_guard(Permission.STATS_READ))]) -> Response:
    _require_editor(form.viewer)
    console = console_of(request)
    fields = _fields(form)
    now = console.api.clock.now()
    context = context_for(console.settings)
    try:
        with console.api.db.session() as session:
            if fields["scheme_id"]:
                current = SchemeView.of(get_scheme(session, fields["scheme_id"]))
                view = change_scheme(
                    session, current.id, _change(fields, current), actor=form.viewer.actor, context=context, now=now
                )
                message = f"Changed scheme {view.name}; now version {view.version}."
            else:
                spec = _spec(fields, form.viewer.username)
                view = add_scheme(session, spec, actor=form.viewer.actor, context=context, now=now)
                message = f"Saved scheme {view.name}."
    except QueryError as exc:
        return _form_page(request, fields, query_error=exc, status_code=400)
    except _FormProblem as exc:
        return _form_page(request, fields, error=str(exc), status_code=400)
    except (PermissionDenied, NotFound):
        raise
    except WorkflowError as exc:
        return _form_page(request, fields, error=str(exc), status_code=400)
    return redirect_with_flash(request, f"/schemes/{view.id}", "ok", message)


@router.post("/schemes/delete")
def delete_scheme_form(
    request: Request, form: Annotated[FormRequest, Depends(form_guard(Permission.STATS_READ))]
) -> Response:
    _require_editor(form.viewer)
    console = console_of(request)
    with console.api.db.session() as session:
        view = delete_scheme(session, form.text("scheme_id"), actor=form.viewer.actor, now=console.api.clock.now())
    if console.settings.sqlite_path.exists():
        with SchemePostIndex(console.settings.sqlite_path) as index:
            index.remove_scheme(view.id)
    return redirect_with_flash(request, "/schemes", "ok", f"Deleted scheme {view.name} and its matches.")


@router.get("/schemes")
def schemes_page(request: Request, viewer: Annotated[Viewer, Depends(page_guard(any_of=READERS))]) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    with console.api.db.read_session() as session:
        schemes = list_schemes(session)
        counts = match_counts(session, since=now - timedelta(days=7))
    return render(
        request,
        "schemes.html",
        {"schemes": schemes, "counts": counts, "can_edit": viewer.role in EDITORS},
    )


@router.get("/schemes/{scheme_id}")
def scheme_page(
    request: Request,
    scheme_id: ObjectId,
    viewer: Annotated[Viewer, Depends(page_guard(any_of=READERS))],
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> Response:
    console = console_of(request)
    now = console.api.clock.now()
    since = now - timedelta(days=days)
    store_path = console.settings.sqlite_path if console.settings.sqlite_path.exists() else None
    with console.api.db.read_session() as session:
        scheme_id = get_scheme(session, scheme_id).id
        summary = scheme_summary(session, scheme_id, since=since, until=now, store_path=store_path)
    matches = posts_matching_scheme(console.posts, scheme_id, limit=MATCHES_SHOWN)
    in_items: dict[str, list[tuple[str, str]]] = {}
    if matches.hits:
        with console.api.db.read_session() as session:
            rows = session.execute(
                select(ReviewItemPost.post_id, ReviewItemPost.item_id, ReviewItemPost.category).where(
                    ReviewItemPost.post_id.in_([h.post_id for h in matches.hits])
                )
            ).tuples()
            for post_id, item_id, category in rows:
                in_items.setdefault(post_id, []).append((item_id, category))
    charts = {
        "per_day": line_chart(
            list(summary.per_day), [Series("matches", list(summary.per_day.values()))], title="Matches per day"
        ),
        "terms": bar_chart(summary.top_terms, title="Keywords"),
    }
    return render(
        request,
        "scheme.html",
        {
            "summary": summary,
            "scheme": summary.scheme,
            "matches": matches,
            "in_items": in_items,
            "charts": charts,
            "windows": WINDOWS,
            "days": days,
            "categories": RISK_CATEGORIES,
            "can_open": viewer.can(Permission.ITEMS_TRIAGE),
            "can_view_items": viewer.can(Permission.ITEMS_VIEW_DETAIL),
            "can_edit": viewer.role in EDITORS,
            "fields": _fields_of(summary.scheme),
            "alert_modes": ALERT_MODES,
        },
    )


@router.post("/schemes/open-item")
def open_item_from_match(
    request: Request,
    form: Annotated[FormRequest, Depends(form_guard(Permission.ITEMS_TRIAGE))],
) -> Response:
    console = console_of(request)
    scheme_id = form.text("scheme_id")
    post_id = form.text("post_id")
    category = form.text("category")
    note = form.text("note")
    with console.api.db.read_session() as session:
        scheme_id = get_scheme(session, scheme_id).id
    post = console.posts.get(post_id) if post_id else None
    if post is None:
        raise NotFound(f"there is no stored post {post_id!r}; choose one of the scheme's matched posts")
    now = console.api.clock.now()

    def change(session: Session) -> str:
        opened = open_item_by_hand(session, post, category, form.viewer.actor, note, now)
        if opened.created:
            return f"Opened review item {opened.item_id} ({category}) for post {post_id}."
        return f"Post {post_id} is already in review item {opened.item_id} ({category}); nothing opened."

    return run_change(request, form, f"/schemes/{scheme_id}", change)
