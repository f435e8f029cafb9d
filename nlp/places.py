"""Gazetteer tagging: which local places a post names, and which unit's jurisdiction it falls in.

Names and aliases from `resources/gazetteer.yaml` go into one Aho-Corasick automaton and are
matched on the normalised text, leftmost-longest without overlaps (香坊火车站 wins over 香坊).
Two-character names (道里, 道外, 群力, 黑大) are also everyday character pairs (知道里面, 群策群力),
so they only count when the segmenter cut them out as a word.

Jurisdiction: the unit of the most specific place named (landmark > community > street >
district). When places of that level belong to different units, the post's `jurisdiction_hint`
(a unit id, a unit name or a place name) decides; otherwise the first mention does. A post that
names no place falls back to the hint when the hint names a known unit.

A name may belong to several places (two 万达广场 in two districts). Such a mention becomes the
place that the rest of the post agrees with (another place it names lies in the same district or
under the same unit: 南岗区的万达广场), else the one inside the hinted unit, else the one defined
first in the gazetteer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nlp.normalize import NormalizedText, Normalizer
from nlp.segment import Token
from patrol.datafiles import load_yaml_model
from patrol.schema import PlaceTag

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_GAZETTEER_FILE = RESOURCES_DIR / "gazetteer.yaml"

#: How specific a level is; a higher rank wins the jurisdiction.
LEVEL_RANK: dict[str, int] = {"district": 0, "street": 1, "community": 2, "landmark": 3}
#: Names this short are common character pairs: they must be a whole token to count.
_SHORT_NAME = 2


class GazetteerUnit(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    kind: str = ""
    parent: str | None = None


class GazetteerPlace(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    level: str
    unit: str
    district: str | None = None
    aliases: list[str] = Field(default_factory=list)


class GazetteerFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: int = 1
    city: str = ""
    units: list[GazetteerUnit]
    places: list[GazetteerPlace]

    @model_validator(mode="after")
    def _references(self) -> GazetteerFile:
        unit_ids = {u.id for u in self.units}
        problems = [
            f"place {p.name}: unknown unit {p.unit!r} (define it under units)"
            for p in self.places
            if p.unit not in unit_ids
        ]
        problems += [
            f"place {p.name}: level {p.level!r} is not one of {sorted(LEVEL_RANK, key=LEVEL_RANK.__getitem__)}"
            for p in self.places
            if p.level not in LEVEL_RANK
        ]
        problems += [
            f"unit {u.id}: unknown parent {u.parent!r}" for u in self.units if u.parent and u.parent not in unit_ids
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


@dataclass(frozen=True, slots=True)
class _Entry:
    place: GazetteerPlace
    surface: str  # the normalised name or alias as matched


class _Tables:
    def __init__(self, gazetteer: GazetteerFile, normalizer: Normalizer) -> None:
        self.gazetteer = gazetteer
        self.units = {u.id: u for u in gazetteer.units}
        # Every place a name or alias may mean, in gazetteer order (the first is the default).
        self.entries: dict[str, list[_Entry]] = {}
        for place in gazetteer.places:
            for surface in (place.name, *place.aliases):
                key = normalizer(surface).text
                senses = self.entries.setdefault(key, [])
                if all(entry.place is not place for entry in senses):
                    senses.append(_Entry(place, key))
        self.automaton: Any = ahocorasick.Automaton()
        for key, senses in self.entries.items():
            self.automaton.add_word(key, (key, tuple(senses)))
        self.automaton.make_automaton()
        self.hint_units: dict[str, str] = {}
        for unit in gazetteer.units:
            self.hint_units.setdefault(unit.id, unit.id)
            self.hint_units.setdefault(normalizer(unit.name).text, unit.id)
        for key, senses in self.entries.items():
            self.hint_units.setdefault(key, senses[0].place.unit)

    def ancestors(self, unit_id: str) -> list[str]:
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.units[current].parent if current in self.units else None
        return chain


class PlaceTagger:
    """Tags gazetteer places; the gazetteer loads on first use, once per instance."""

    def __init__(self, gazetteer_file: Path = DEFAULT_GAZETTEER_FILE, normalizer: Normalizer | None = None) -> None:
        self.gazetteer_file = gazetteer_file
        self.normalizer = normalizer or Normalizer()
        self._tables: _Tables | None = None
        self._lock = threading.Lock()

    @property
    def tables(self) -> _Tables:
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    self._tables = _Tables(load_yaml_model(self.gazetteer_file, GazetteerFile), self.normalizer)
        return self._tables

    def surface_forms(self) -> list[str]:
        """Every normalised name and alias, for the segmenter's user words."""
        return list(self.tables.entries)

    def tag(self, normalized: NormalizedText, tokens: Sequence[Token], hint: str | None = None) -> list[PlaceTag]:
        """Places named in the text, in order; `hint` (the source's jurisdiction) resolves a name
        that several places share when the post itself does not."""
        tables = self.tables
        candidates: list[tuple[int, int, tuple[_Entry, ...]]] = []
        for last, (surface, senses) in tables.automaton.iter(normalized.text):
            candidates.append((last + 1 - len(surface), last + 1, senses))
        if not candidates:
            return []
        candidates.sort(key=lambda c: (c[0], c[0] - c[1]))  # leftmost, then longest
        token_starts = {token_start for _, token_start, _ in tokens}
        token_ends = {token_end for _, _, token_end in tokens}
        found: list[tuple[int, int, tuple[_Entry, ...]]] = []
        taken_until = 0
        for start, end, senses in candidates:
            if start < taken_until:
                continue
            if end - start <= _SHORT_NAME and (start not in token_starts or end not in token_ends):
                continue
            found.append((start, end, senses))
            taken_until = end
        context = [senses[0].place for _, _, senses in found if len(senses) == 1]
        tags: list[PlaceTag] = []
        for start, end, senses in found:
            place = senses[0].place if len(senses) == 1 else self._resolve(senses, context, hint)
            original_start, original_end = normalized.to_original(start, end)
            tags.append(
                PlaceTag(name=place.name, level=place.level, unit=place.unit, start=original_start, end=original_end)
            )
        return tags

    def _resolve(self, senses: Sequence[_Entry], context: Sequence[GazetteerPlace], hint: str | None) -> GazetteerPlace:
        """Which of the places sharing a name the post means (see the module docstring)."""
        tables = self.tables

        def related(a: str, b: str) -> bool:
            return a in tables.ancestors(b) or b in tables.ancestors(a)

        def district_of(place: GazetteerPlace) -> str | None:
            return place.name if place.level == "district" else place.district

        def agrees(place: GazetteerPlace, other: GazetteerPlace) -> bool:
            district = district_of(place)
            same_district = district is not None and district == district_of(other)
            return same_district or related(place.unit, other.unit)

        for entry in senses:
            if any(agrees(entry.place, other) for other in context):
                return entry.place
        hint_unit = self.resolve_hint(hint)
        if hint_unit is not None:
            for entry in senses:
                if related(entry.place.unit, hint_unit):
                    return entry.place
        return senses[0].place

    def resolve_hint(self, hint: str | None) -> str | None:
        """The unit a jurisdiction hint names (a unit id, a unit name or a place name), if any."""
        if not hint:
            return None
        tables = self.tables
        return tables.hint_units.get(hint) or tables.hint_units.get(self.normalizer(hint).text)

    def jurisdiction(self, tags: Iterable[PlaceTag], hint: str | None = None) -> str | None:
        tags = list(tags)
        hint_unit = self.resolve_hint(hint)
        if not tags:
            return hint_unit
        best_rank = max(LEVEL_RANK[t.level] for t in tags)
        best = [t for t in tags if LEVEL_RANK[t.level] == best_rank]
        if len({t.unit for t in best}) > 1 and hint_unit is not None:
            tables = self.tables
            hint_chain = set(tables.ancestors(hint_unit))
            for tag in best:  # first mention among those inside (or above) the hinted unit
                chain = tables.ancestors(tag.unit)
                if hint_unit in chain or tag.unit in hint_chain:
                    return tag.unit
        return best[0].unit
