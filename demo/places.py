"""Place names for the generated posts, read from the project's gazetteer so that the NLP stage's
place tagging has real work to do on the demo site."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

GAZETTEER_FILE = Path(__file__).resolve().parent.parent / "nlp" / "resources" / "gazetteer.yaml"

_LEVELS = ("district", "street", "community", "landmark")


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    level: str
    district: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceBook:
    """Places by level, in gazetteer order (so generation stays deterministic)."""

    places: tuple[Place, ...]
    by_level: dict[str, tuple[Place, ...]] = field(init=False)

    def __post_init__(self) -> None:
        grouped = {level: tuple(p for p in self.places if p.level == level) for level in _LEVELS}
        missing = [level for level, found in grouped.items() if not found]
        if missing:
            raise ValueError(f"gazetteer has no places of level {', '.join(missing)}: add at least one of each")
        object.__setattr__(self, "by_level", grouped)

    def of_level(self, level: str, district: str | None = None) -> tuple[Place, ...]:
        everywhere = self.by_level[level]
        if district is None:
            return everywhere
        nearby = tuple(p for p in everywhere if p.district == district or p.name == district)
        return nearby or everywhere


def load_places(path: Path = GAZETTEER_FILE) -> PlaceBook:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"cannot read the gazetteer {path}: {exc}; the demo site names its places") from exc
    entries = document.get("places") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a top-level `places:` list of {{name, level, ...}} entries")
    places = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "name" not in entry or entry.get("level") not in _LEVELS:
            raise ValueError(f"{path}: places[{index}] needs a name and a level in {', '.join(_LEVELS)}")
        level = entry["level"]
        district = entry["name"] if level == "district" else str(entry.get("district", ""))
        places.append(
            Place(
                name=str(entry["name"]),
                level=level,
                district=district,
                aliases=tuple(str(a) for a in entry.get("aliases") or ()),
            )
        )
    return PlaceBook(tuple(places))
