"""Admin: users and roles, sources, thresholds and lexicon rules, each change previewed by a
backtest over the last 7 days' posts before it is saved, and every save audited."""

from __future__ import annotations

from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from nlp.lexicon import LexiconFile
from patrol.datafiles import load_yaml_model
from patrol.web.backtest import (
    DEFAULT_DAYS,
    backtest_rule,
    backtest_thresholds,
    changed_lexicon,
    lexicon_yaml,
    parse_rule_change,
    parse_thresholds,
)
from patrol.web.config_files import is_packaged, save_config
from patrol.web.routes.common import redirect_with_flash, run_change
from patrol.web.routes.sources import current_health
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.workflow.actors import Permission, Role
from patrol.workflow.audit import changed_fields, record_audit
from patrol.workflow.auth import create_user, list_users, update_user
from patrol.workflow.errors import InvalidInput
from patrol.workflow.feedback import precision_stats

router = APIRouter(prefix="/admin")
AdminPage = Annotated[Viewer, Depends(page_guard(role=Role.ADMIN))]
AdminForm = Annotated[FormRequest, Depends(form_guard(role=Role.ADMIN))]
UsersForm = Annotated[FormRequest, Depends(form_guard(Permission.USERS_MANAGE))]
Username = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
ROLES = [r.value for r in Role]


def _form_dict(form: FormRequest) -> dict[str, str]:
    return {k: v for k, v in form.form.items() if isinstance(v, str)}


@router.get("")
def admin_home(
    request: Request, viewer: Annotated[Viewer, Depends(page_guard(Permission.USERS_MANAGE))]
) -> Response:
    console = console_of(request)
    with console.api.db.read_session() as session:
        users = list_users(session, viewer.actor)
    return render(
        request,
        "admin_users.html",
        {"users": users, "roles": ROLES, "unit_ids": console.api.policy.units.ids(), "self_path": "/admin"},
    )


@router.post("/users")
def add_user(request: Request, form: UsersForm) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        user = create_user(
            session,
            form.viewer.actor,
            username=form.text("username"),
            password=form.text("password"),
            role=form.text("role"),
            units=console.api.policy.units,
            now=console.api.clock.now(),
            unit_id=form.optional("unit_id"),
            email=form.optional("email"),
            display_name=form.text("display_name"),
            hasher=console.api.hasher,
        )
        return f"Account {user.username} ({user.role}) created"

    return run_change(request, form, "/admin", change)


@router.post("/users/{username}")
def change_user(request: Request, username: Username, form: UsersForm) -> Response:
    console = console_of(request)
    active = form.text("active")

    def change(session: Session) -> str:
        user = update_user(
            session,
            form.viewer.actor,
            username,
            units=console.api.policy.units,
            now=console.api.clock.now(),
            role=form.optional("role"),
            unit_id=form.optional("unit_id"),
            email=form.optional("email"),
            active=None if not active else active == "yes",
            password=form.optional("password"),
            hasher=console.api.hasher,
        )
        return f"Account {user.username} updated ({user.role}{', inactive' if not user.active else ''})"

    return run_change(request, form, "/admin", change)


@router.get("/sources")
def admin_sources(request: Request, viewer: AdminPage) -> Response:
    console = console_of(request)
    return render(
        request,
        "admin_sources.html",
        {
            "report": current_health(request),
            "sources_file": console.settings.sources_file,
            "packaged": is_packaged(console.settings.sources_file),
        },
    )


# -- thresholds -------------------------------------------------------------------------------------


@router.get("/thresholds")
def thresholds_page(request: Request, viewer: AdminPage) -> Response:
    console = console_of(request)
    return render(
        request,
        "admin_thresholds.html",
        {
            "current": console.thresholds,
            "proposed": None,
            "result": None,
            "days": DEFAULT_DAYS,
            "file": console.settings.thresholds_file,
        },
    )


@router.post("/thresholds/preview")
def thresholds_preview(request: Request, form: AdminForm) -> Response:
    console = console_of(request)
    current = console.thresholds
    try:
        proposed = parse_thresholds(current, _form_dict(form))
    except InvalidInput as exc:
        return redirect_with_flash(request, "/admin/thresholds", "error", str(exc))
    result = backtest_thresholds(console.post_reader, current, proposed, now=console.api.clock.now())
    return render(
        request,
        "admin_thresholds.html",
        {
            "current": current,
            "proposed": proposed,
            "result": result,
            "days": DEFAULT_DAYS,
            "file": console.settings.thresholds_file,
        },
    )


@router.post("/thresholds/save")
def thresholds_save(request: Request, form: AdminForm) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        current = console.thresholds
        proposed = parse_thresholds(current, _form_dict(form))
        now = console.api.clock.now()
        text = (
            "# Edited in the patrol console; see patrol/defaults/thresholds.yaml for what each value means.\n"
        )
        text += yaml.safe_dump(proposed.model_dump(), sort_keys=False)
        saved = save_config(
            console.settings.thresholds_file,
            console.editable_config_dir,
            text,
            setting="PATROL_THRESHOLDS_FILE",
            now=now,
        )
        before, after = changed_fields(current.model_dump(), proposed.model_dump())
        record_audit(
            session,
            at=now,
            actor=form.viewer.actor,
            action="config.thresholds_saved",
            entity_type="config",
            entity_id="thresholds",
            before=before,
            after=after | {"path": str(saved.path)},
        )
        return _saved_message("Thresholds", saved.path, saved.in_effect, saved.setting)

    return run_change(request, form, "/admin/thresholds", change)


def _saved_message(what: str, path: object, in_effect: bool, setting: str) -> str:
    if in_effect:
        return f"{what} saved to {path}; the next pass uses them"
    return (
        f"{what} saved to {path}. The running configuration still reads the packaged defaults:"
        f" set {setting}={path} for the pipeline and this console, then restart them"
    )


# -- lexicon rules -------------------------------------------------------------------------------------


def _lexicon(request: Request) -> LexiconFile:
    return load_yaml_model(console_of(request).settings.lexicon_file, LexiconFile)


@router.get("/rules")
def rules_page(request: Request, viewer: AdminPage) -> Response:
    console = console_of(request)
    with console.api.db.read_session() as session:
        precision = {
            row.key: row for row in precision_stats(session, console.api.policy.dismiss_reasons).by_rule
        }
    return render(
        request,
        "admin_rules.html",
        {
            "lexicon": _lexicon(request),
            "precision": precision,
            "result": None,
            "change": None,
            "days": DEFAULT_DAYS,
            "file": console.settings.lexicon_file,
        },
    )


@router.post("/rules/preview")
def rules_preview(request: Request, form: AdminForm) -> Response:
    console = console_of(request)
    change = parse_rule_change(_form_dict(form))
    if change.empty:
        return redirect_with_flash(
            request, "/admin/rules", "error", "change the weight or add or remove terms before previewing"
        )
    if console.text_reader is None:
        raise InvalidInput("this console has no text reader configured; rule backtests need the NLP stage")
    try:
        result, _ = backtest_rule(
            console.post_reader,
            console.text_reader,
            console.settings.lexicon_file,
            change,
            console.thresholds,
            now=console.api.clock.now(),
        )
    except InvalidInput as exc:
        return redirect_with_flash(request, "/admin/rules", "error", str(exc))
    with console.api.db.read_session() as session:
        precision = {
            row.key: row for row in precision_stats(session, console.api.policy.dismiss_reasons).by_rule
        }
    return render(
        request,
        "admin_rules.html",
        {
            "lexicon": _lexicon(request),
            "precision": precision,
            "result": result,
            "change": change,
            "days": DEFAULT_DAYS,
            "file": console.settings.lexicon_file,
        },
    )


@router.post("/rules/save")
def rules_save(request: Request, form: AdminForm) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        rule_change = parse_rule_change(_form_dict(form))
        current = _lexicon(request)
        proposed = changed_lexicon(current, rule_change)
        now = console.api.clock.now()
        saved = save_config(
            console.settings.lexicon_file,
            console.editable_config_dir,
            lexicon_yaml(proposed),
            setting="PATROL_LEXICON_FILE",
            now=now,
        )
        record_audit(
            session,
            at=now,
            actor=form.viewer.actor,
            action="config.rule_saved",
            entity_type="config",
            entity_id=f"lexicon:{rule_change.rule_id}",
            after={
                "weight": rule_change.weight,
                "group": rule_change.group,
                "added": list(rule_change.add_terms),
                "removed": list(rule_change.remove_terms),
                "path": str(saved.path),
            },
        )
        return _saved_message(f"Rule {rule_change.rule_id}", saved.path, saved.in_effect, saved.setting)

    return run_change(request, form, "/admin/rules", change)
