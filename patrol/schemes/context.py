"""What matching needs besides the query: the NLP normaliser and segmenter, thresholds, the gazetteer.

Query words are normalised by the same `nlp.normalize.Normalizer` as the posts, so a scheme for
枪支 also finds 枪 支 and 槍支, and one for 微信 finds V信. Filter values are checked against the
gazetteer and the category list when a scheme is compiled, so a typo fails at save time with a
message, not silently at match time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from nlp.normalize import Normalizer
from nlp.places import GazetteerFile
from nlp.segment import RjiebaSegmenter
from patrol.config import Settings
from patrol.datafiles import load_yaml_model
from patrol.schema import CATEGORY_LABELS_ZH, RISK_CATEGORIES
from patrol.schemes.query import Filter, QueryError
from patrol.thresholds import Thresholds, load_thresholds

#: Post kinds written by news sites and their feeds; everything else is written by the public.
MEDIA_POST_KINDS: frozenset[str] = frozenset({"article", "feed_item"})
AUTHOR_KINDS: dict[str, str] = {"media": "media", "媒体": "media", "public": "public", "网民": "public"}
SENTIMENTS: dict[str, str] = {
    "negative": "negative",
    "负面": "negative",
    "neutral": "neutral",
    "中性": "neutral",
    "positive": "positive",
    "正面": "positive",
}
_WORD_CHAR = re.compile(r"[^\W_]")


def author_kind_of(post_kind: str) -> str:
    """`media` for news articles and feed items, `public` for forum posts, weibos and comments.

    Derived from the kind of post, never from who the author is: schemes do not profile people.
    """
    return "media" if post_kind in MEDIA_POST_KINDS else "public"


def _category_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for category in RISK_CATEGORIES:
        names[category] = category
        label = CATEGORY_LABELS_ZH.get(category, "")
        names[label] = category
        for part in label.split("/"):
            names.setdefault(part, category)
    return names


@dataclass(frozen=True)
class Gazetteer:
    """Places and units, as filter values resolve against them."""

    places_by_surface: dict[str, str] = field(default_factory=dict)  # normalised name or alias -> place
    places_within: dict[str, frozenset[str]] = field(default_factory=dict)  # place -> itself and places in it
    units_by_name: dict[str, str] = field(default_factory=dict)  # unit id or normalised name -> unit id
    units_within: dict[str, frozenset[str]] = field(default_factory=dict)  # unit -> itself and units below

    @classmethod
    def from_file(cls, path: Path, normalize: Callable[[str], str]) -> Gazetteer:
        parsed = load_yaml_model(path, GazetteerFile)
        surfaces: dict[str, str] = {}
        within: dict[str, set[str]] = {p.name: {p.name} for p in parsed.places}
        for place in parsed.places:
            for surface in (place.name, *place.aliases):
                surfaces.setdefault(normalize(surface), place.name)
            if place.district and place.district in within:
                within[place.district].add(place.name)
        units: dict[str, str] = {}
        children: dict[str, set[str]] = {u.id: set() for u in parsed.units}
        for unit in parsed.units:
            units[unit.id] = unit.id
            units.setdefault(normalize(unit.name), unit.id)
            if unit.parent in children:
                children[unit.parent].add(unit.id)

        def below(unit_id: str, seen: frozenset[str] = frozenset()) -> set[str]:
            found = {unit_id}
            for child in children.get(unit_id, ()):
                if child not in seen:
                    found |= below(child, seen | {unit_id})
            return found

        return cls(
            places_by_surface=surfaces,
            places_within={name: frozenset(names) for name, names in within.items()},
            units_by_name=units,
            units_within={unit_id: frozenset(below(unit_id)) for unit_id in children},
        )


@dataclass
class MatchContext:
    """Everything a compiled scheme needs from the rest of the system; built once per process."""

    normalizer: Normalizer = field(default_factory=Normalizer)
    tokenize: Callable[[str], list[str]] | None = None
    thresholds: Thresholds = field(default_factory=lambda: Thresholds.model_validate({}))
    gazetteer_file: Path | None = None
    #: Compiled matchers by the schemes they were built from (see `patrol.schemes.live`); a memo.
    compiled: dict[object, object] = field(default_factory=dict, repr=False)

    def normalize(self, text: str) -> str:
        return self.normalizer(text).text

    def cut(self, text: str) -> list[str]:
        """Words of a normalised text, as the pipeline's segmenter cuts them (for NEAR distances)."""
        if self.tokenize is None:
            self.tokenize = RjiebaSegmenter().cut
        return self.tokenize(text)

    @cached_property
    def gazetteer(self) -> Gazetteer:
        if self.gazetteer_file is None:
            from nlp.places import DEFAULT_GAZETTEER_FILE

            self.gazetteer_file = DEFAULT_GAZETTEER_FILE
        return Gazetteer.from_file(self.gazetteer_file, self.normalize)

    def flagged_categories(self, scores: dict[str, float]) -> frozenset[str]:
        return frozenset(self.thresholds.flagged(scores))

    # -- terms and filter values ----------------------------------------------------------------

    def term_text(self, text: str, query: str, position: int) -> str:
        """A query word normalised like post text; it must keep something to look for."""
        normalized = self.normalize(text).strip()
        if not _WORD_CHAR.search(normalized):
            raise QueryError(
                f"'{text}' has no letter, digit or Chinese character left to look for; use a word",
                query,
                position,
            )
        return normalized

    def filter_values(self, node: Filter, query: str) -> frozenset[str]:
        """The post property values a filter accepts (e.g. a district and every place in it)."""
        value = node.value.strip()
        name = node.name
        if name == "source":
            if not value or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*\*?", value):
                raise QueryError(
                    f"source:{value} is not a source id (letters, digits, _ and -; a trailing * for a prefix)",
                    query,
                    node.position,
                )
            return frozenset({value})
        if name == "category":
            names = _category_names()
            category = names.get(value) or names.get(value.lower())
            if category is None:
                known = ", ".join(f"{c} ({CATEGORY_LABELS_ZH[c]})" for c in RISK_CATEGORIES)
                raise QueryError(f"unknown category '{value}'; use one of {known}", query, node.position)
            return frozenset({category})
        if name == "sentiment":
            sentiment = SENTIMENTS.get(value.lower())
            if sentiment is None:
                raise QueryError(
                    f"unknown sentiment '{value}'; use negative (负面), neutral (中性) or positive (正面)",
                    query,
                    node.position,
                )
            return frozenset({sentiment})
        if name == "author_kind":
            kind = AUTHOR_KINDS.get(value.lower())
            if kind is None:
                raise QueryError(
                    f"unknown author_kind '{value}'; use media (媒体: news articles and feeds) or public"
                    " (网民: forum posts, weibos, comments)",
                    query,
                    node.position,
                )
            return frozenset({kind})
        if name == "place":
            return self._place(value, query, node.position)
        if name == "jurisdiction":
            return self._unit(value, query, node.position)
        raise QueryError(f"unknown filter {name}:", query, node.position)  # the parser only makes known ones

    def _place(self, value: str, query: str, position: int) -> frozenset[str]:
        gazetteer = self.gazetteer
        place = gazetteer.places_by_surface.get(self.normalize(value))
        if place is None:
            some = _sample(sorted(set(gazetteer.places_by_surface.values())))
            raise QueryError(
                f"unknown place '{value}': not in the gazetteer ({self.gazetteer_file}); add it there,"
                f" or search"
                f" for the word itself without place: (known places include {some})",
                query,
                position,
            )
        return gazetteer.places_within.get(place, frozenset({place}))

    def _unit(self, value: str, query: str, position: int) -> frozenset[str]:
        gazetteer = self.gazetteer
        unit = gazetteer.units_by_name.get(value) or gazetteer.units_by_name.get(self.normalize(value))
        if unit is None:
            known = ", ".join(sorted(gazetteer.units_within))
            raise QueryError(
                f"unknown jurisdiction unit '{value}'; use a unit id or name from the gazetteer: {known}",
                query,
                position,
            )
        return gazetteer.units_within.get(unit, frozenset({unit}))


def _sample(values: Iterable[str], limit: int = 8) -> str:
    items = list(values)
    shown = "、".join(items[:limit])
    return shown + ("…" if len(items) > limit else "")


@lru_cache(maxsize=8)
def _context_for_files(user_dict: Path, thresholds: Path, gazetteer: Path) -> MatchContext:
    segmenter = RjiebaSegmenter(user_dict)
    return MatchContext(
        normalizer=Normalizer(),
        tokenize=segmenter.cut,
        thresholds=load_thresholds(thresholds),
        gazetteer_file=gazetteer,
    )


def context_for(settings: Settings) -> MatchContext:
    """The match context for these settings, built once per process (the segmenter loads lazily)."""
    return _context_for_files(settings.user_dict_file, settings.thresholds_file, settings.gazetteer_file)


@lru_cache(maxsize=1)
def default_context() -> MatchContext:
    """The shipped files' context (default thresholds, gazetteer and user dictionary), built once."""
    return MatchContext()
