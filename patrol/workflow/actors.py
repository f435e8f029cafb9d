"""Who is acting, in which role, and what each role may do.

The table below is the one place that says which role may do what; the API's dependencies and the
service functions both ask `require(actor, permission)`, so a role check cannot be forgotten in one
of the two layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from patrol.workflow.errors import PermissionDenied


class Role(StrEnum):
    PATROL_OFFICER = "patrol_officer"
    REVIEWER = "reviewer"
    FIELD_UNIT = "field_unit"
    ANALYST = "analyst"
    ADMIN = "admin"


class Permission(StrEnum):
    ITEMS_READ = "items.read"
    ITEMS_VIEW_DETAIL = "items.view_detail"
    ITEMS_TRIAGE = "items.triage"
    ITEMS_REOPEN = "items.reopen"
    TASKS_READ = "tasks.read"
    TASKS_WORK = "tasks.work"
    TASKS_MANAGE = "tasks.manage"
    SHIFTS_READ = "shifts.read"
    SHIFTS_NOTE = "shifts.note"
    SHIFTS_MANAGE = "shifts.manage"
    HANDOVER_ACKNOWLEDGE = "handover.acknowledge"
    STATS_READ = "stats.read"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"
    USERS_MANAGE = "users.manage"
    CHANNELS_MANAGE = "channels.manage"


_OFFICER = {
    Permission.ITEMS_READ,
    Permission.ITEMS_VIEW_DETAIL,
    Permission.ITEMS_TRIAGE,
    Permission.TASKS_READ,
    Permission.SHIFTS_READ,
    Permission.SHIFTS_NOTE,
    Permission.HANDOVER_ACKNOWLEDGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PATROL_OFFICER: frozenset(_OFFICER),
    # The duty supervisor triages too, and owns the tasks, the roster and the audit trail.
    Role.REVIEWER: frozenset(
        _OFFICER
        | {
            Permission.ITEMS_REOPEN,
            Permission.TASKS_WORK,
            Permission.TASKS_MANAGE,
            Permission.SHIFTS_MANAGE,
            Permission.STATS_READ,
            Permission.AUDIT_READ,
        }
    ),
    # A field unit sees its own unit's tasks and nothing of the queue.
    Role.FIELD_UNIT: frozenset({Permission.TASKS_READ, Permission.TASKS_WORK}),
    Role.ANALYST: frozenset({Permission.STATS_READ}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """A person (or the system) acting on the workflow."""

    username: str
    role: Role
    unit_id: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def is_field_unit(self) -> bool:
        return self.role is Role.FIELD_UNIT


#: The flag stage, the worker and other automatic changes act as this actor in the audit log.
SYSTEM = Actor(username="system", role=Role.ADMIN)


def require(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        raise PermissionDenied(
            f"{actor.username} ({actor.role.value}) may not {permission.value}; ask a duty supervisor or an admin"
        )
