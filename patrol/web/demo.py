"""The console for `patrol demo`: one demo account per role, and the console running in a thread.

The demo passwords are random, kept in `<data_dir>/demo-logins.json` (readable by the owner only)
so every demo run prints the same logins for the same data folder.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from argon2.exceptions import VerificationError

from patrol.config import Settings
from patrol.schema import utcnow
from patrol.web.build import start_console
from patrol.workflow.actors import SYSTEM, Role
from patrol.workflow.auth import DEFAULT_HASHER, create_user, update_user
from patrol.workflow.db import WorkflowDb
from patrol.workflow.models import User
from patrol.workflow.policy import WorkflowFiles, load_workflow_policy

DEMO_ACCOUNTS: tuple[tuple[Role, str], ...] = (
    (Role.PATROL_OFFICER, "demo-officer"),
    (Role.REVIEWER, "demo-reviewer"),
    (Role.FIELD_UNIT, "demo-field"),
    (Role.ANALYST, "demo-analyst"),
    (Role.ADMIN, "demo-admin"),
)
PREFERRED_DEMO_UNIT = "xf-heping"


def _logins_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-logins.json"


def _stored_passwords(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _store_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(passwords, out, indent=2)


def ensure_demo_users(settings: Settings) -> list[tuple[str, str, str]]:
    """Create (or repair) one demo account per role; returns (role, username, password) for each."""
    policy = load_workflow_policy(WorkflowFiles.from_settings(settings))
    unit_ids = policy.units.ids()
    demo_unit = (
        PREFERRED_DEMO_UNIT if PREFERRED_DEMO_UNIT in unit_ids else (unit_ids[0] if unit_ids else None)
    )
    path = _logins_file(settings)
    passwords = _stored_passwords(path)
    db = WorkflowDb(settings.workflow_url)
    logins: list[tuple[str, str, str]] = []
    try:
        with db.session() as session:
            now = utcnow()
            for role, username in DEMO_ACCOUNTS:
                if role is Role.FIELD_UNIT and demo_unit is None:
                    continue  # a gazetteer without units has no field unit to log in as
                password = passwords.get(username) or f"demo-{secrets.token_urlsafe(9)}"
                unit = demo_unit if role is Role.FIELD_UNIT else None
                user = session.get(User, username)
                if user is None:
                    create_user(
                        session,
                        SYSTEM,
                        username=username,
                        password=password,
                        role=role.value,
                        units=policy.units,
                        now=now,
                        unit_id=unit,
                        display_name=f"Demo {role.value}",
                    )
                elif not _password_works(user, password) or user.role != role.value or not user.active:
                    update_user(
                        session,
                        SYSTEM,
                        username,
                        units=policy.units,
                        now=now,
                        role=role.value,
                        unit_id=unit,
                        active=True,
                        password=password,
                    )
                passwords[username] = password
                logins.append((role.value, username, password))
    finally:
        db.dispose()
    _store_passwords(path, passwords)
    return logins


def _password_works(user: User, password: str) -> bool:
    try:
        return DEFAULT_HASHER.verify(user.password_hash, password)
    except VerificationError:
        return False
    except ValueError:
        return False


def start_console_in_thread(
    settings: Settings, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, Callable[[], None]]:
    """Start the console (and the workflow worker) in daemon threads; returns its URL and a stop function."""
    running = start_console(settings, host=host, port=port, with_worker=True)
    return running.url, running.stop
