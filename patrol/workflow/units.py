"""Field units (police stations and branches) from the gazetteer, and routing of tasks to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from patrol.datafiles import load_yaml_model
from patrol.workflow.errors import InvalidInput


class Unit(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    kind: str = "station"
    parent: str | None = None


class _GazetteerUnits(BaseModel):
    # Only the units matter here; the places are the NLP stage's business.
    model_config = ConfigDict(extra="ignore")

    units: list[Unit] = Field(default_factory=list)


@dataclass(frozen=True)
class UnitDirectory:
    units: dict[str, Unit] = field(default_factory=dict)

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.units

    def ids(self) -> list[str]:
        return sorted(self.units)

    def get(self, unit_id: str) -> Unit:
        try:
            return self.units[unit_id]
        except KeyError:
            raise InvalidInput(f"unknown unit {unit_id!r}; use one of {self.ids()}") from None


@dataclass(frozen=True)
class Route:
    unit_id: str
    routed_by: str  # override | jurisdiction | fallback


def load_units(gazetteer: Path) -> UnitDirectory:
    parsed = load_yaml_model(gazetteer, _GazetteerUnits)
    return UnitDirectory({unit.id: unit for unit in parsed.units})


def route_task(units: UnitDirectory, jurisdiction: str | None, *, override: str | None, fallback: str | None) -> Route:
    """The unit a verification task goes to: the override, else the item's jurisdiction, else the fallback."""
    if override:
        units.get(override)
        return Route(override, "override")
    if jurisdiction and jurisdiction in units:
        return Route(jurisdiction, "jurisdiction")
    if fallback:
        return Route(fallback, "fallback")
    where = f"jurisdiction {jurisdiction!r} is not a unit" if jurisdiction else "the item has no jurisdiction"
    raise InvalidInput(f"cannot route the task: {where}; choose a unit (one of {units.ids()})")
