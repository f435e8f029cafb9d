"""The workflow's data files (SLA targets, roster, dismiss reasons, routing, evidence limits).

People tune these without touching code; each file has a schema and a wrong value is reported with
the file, the line and the field (`patrol.datafiles.load_yaml_model`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from patrol.config import DEFAULTS_DIR, Settings
from patrol.datafiles import load_yaml_model
from patrol.schema import RISK_CATEGORIES
from patrol.workflow.errors import InvalidInput
from patrol.workflow.units import UnitDirectory, load_units

SlaKind = Literal["acknowledge", "dispatch", "verify"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlaTarget(_Strict):
    acknowledge: int = Field(gt=0, description="minutes from assignment to acceptance")
    dispatch: int = Field(gt=0, description="minutes from assignment to someone on the way (in_progress)")
    verify: int = Field(gt=0, description="minutes from assignment to completion")

    @model_validator(mode="after")
    def _ordered(self) -> SlaTarget:
        if not self.acknowledge <= self.dispatch <= self.verify:
            raise ValueError("targets must satisfy acknowledge <= dispatch <= verify")
        return self


class SlaPolicy(_Strict):
    version: int = 1
    priorities: list[str] = Field(min_length=1)
    default_priority: dict[str, str] = Field(default_factory=dict)
    targets: dict[str, dict[str, SlaTarget]]
    life_safety_ack_minutes: int = Field(5, gt=0)
    claim_ttl_minutes: int = Field(15, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> SlaPolicy:
        if "default" not in self.targets:
            raise ValueError("targets.default is required (targets per priority for every category)")
        missing = [p for p in self.priorities if p not in self.targets["default"]]
        if missing:
            raise ValueError(f"targets.default lacks priorities {missing}")
        for scope, per_priority in self.targets.items():
            if scope != "default" and scope not in RISK_CATEGORIES:
                raise ValueError(f"targets.{scope}: unknown category; use one of {list(RISK_CATEGORIES)}")
            unknown = sorted(set(per_priority) - set(self.priorities))
            if unknown:
                raise ValueError(f"targets.{scope}: unknown priorities {unknown}; declare them in priorities")
        for category, priority in self.default_priority.items():
            if category not in RISK_CATEGORIES:
                raise ValueError(f"default_priority.{category}: unknown category")
            if priority not in self.priorities:
                raise ValueError(f"default_priority.{category}: unknown priority {priority!r}")
        return self

    def target(self, category: str, priority: str) -> SlaTarget:
        if priority not in self.priorities:
            raise InvalidInput(f"unknown priority {priority!r}; use one of {self.priorities}")
        return self.targets.get(category, {}).get(priority) or self.targets["default"][priority]

    def priority_for(self, category: str) -> str:
        return self.default_priority.get(category, self.priorities[len(self.priorities) // 2])

    def rank(self, priority: str) -> int:
        """0 for the most urgent priority."""
        return self.priorities.index(priority) if priority in self.priorities else len(self.priorities)

    @property
    def claim_ttl(self) -> timedelta:
        return timedelta(minutes=self.claim_ttl_minutes)

    @property
    def life_safety_ack(self) -> timedelta:
        return timedelta(minutes=self.life_safety_ack_minutes)


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ShiftDefinition(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    start: str

    @field_validator("start")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError('start must be a local time HH:MM, e.g. "08:00"')
        return value

    @property
    def start_minutes(self) -> int:
        hours, minutes = self.start.split(":")
        return int(hours) * 60 + int(minutes)


class RosterPolicy(_Strict):
    version: int = 1
    timezone: str = "Asia/Shanghai"
    shifts: list[ShiftDefinition] = Field(min_length=1)
    handover_ack_minutes: int = Field(30, gt=0)
    fallback_supervisor: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Shanghai") from exc
        return value

    @model_validator(mode="after")
    def _distinct(self) -> RosterPolicy:
        names = [s.name for s in self.shifts]
        starts = [s.start_minutes for s in self.shifts]
        if len(set(names)) != len(names):
            raise ValueError("shift names must be distinct")
        if len(set(starts)) != len(starts):
            raise ValueError("two shifts start at the same time")
        self.shifts.sort(key=lambda s: s.start_minutes)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DismissReason(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str = ""
    feedback: Literal["false_positive", "true_positive", "none"]
    note_required: bool = False


class DismissReasons(_Strict):
    version: int = 1
    reasons: list[DismissReason] = Field(min_length=1)

    def get(self, code: str) -> DismissReason:
        for reason in self.reasons:
            if reason.code == code:
                return reason
        raise InvalidInput(f"unknown dismiss reason {code!r}; use one of {[r.code for r in self.reasons]}")


class RoutingPolicy(_Strict):
    version: int = 1
    fallback_unit: str | None = None


class EvidencePolicy(_Strict):
    version: int = 1
    max_bytes: int = Field(25 * 1024 * 1024, gt=0)
    allowed_types: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class WorkflowFiles:
    """Where the workflow's data files are; defaults to the files shipped in `patrol/defaults/`."""

    sla: Path = DEFAULTS_DIR / "sla.yaml"
    roster: Path = DEFAULTS_DIR / "roster.yaml"
    dismiss_reasons: Path = DEFAULTS_DIR / "dismiss_reasons.yaml"
    routing: Path = DEFAULTS_DIR / "routing.yaml"
    evidence: Path = DEFAULTS_DIR / "evidence.yaml"
    gazetteer: Path = DEFAULTS_DIR.parent.parent / "nlp" / "resources" / "gazetteer.yaml"

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkflowFiles:
        # Settings may grow `sla_file`, `roster_file`, ... fields; use them when present.
        defaults = cls(gazetteer=settings.gazetteer_file)
        overrides: dict[str, Any] = {}
        for name in ("sla", "roster", "dismiss_reasons", "routing", "evidence"):
            value = getattr(settings, f"{name}_file", None)
            if value is not None:
                overrides[name] = Path(value)
        return WorkflowFiles(**{**defaults.__dict__, **overrides})


@dataclass(frozen=True)
class WorkflowPolicy:
    """Everything the workflow reads from data files, loaded once and passed around."""

    sla: SlaPolicy
    roster: RosterPolicy
    dismiss_reasons: DismissReasons
    routing: RoutingPolicy
    evidence: EvidencePolicy
    units: UnitDirectory = field(default_factory=UnitDirectory)

    def __post_init__(self) -> None:
        fallback = self.routing.fallback_unit
        if fallback is not None and fallback not in self.units:
            raise InvalidInput(
                f"routing.fallback_unit {fallback!r} is not a unit of the gazetteer; use one of {self.units.ids()}"
            )


def load_workflow_policy(files: WorkflowFiles | None = None) -> WorkflowPolicy:
    files = files or WorkflowFiles()
    return WorkflowPolicy(
        sla=load_yaml_model(files.sla, SlaPolicy),
        roster=load_yaml_model(files.roster, RosterPolicy),
        dismiss_reasons=load_yaml_model(files.dismiss_reasons, DismissReasons),
        routing=load_yaml_model(files.routing, RoutingPolicy),
        evidence=load_yaml_model(files.evidence, EvidencePolicy),
        units=load_units(files.gazetteer),
    )
