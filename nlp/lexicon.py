"""Rule and lexicon risk scoring over the eight public-safety categories.

Everything a reviewer may want to change is data in `resources/lexicon.yaml`:

- **groups** of terms: plain substrings (`terms`), words that must be a whole token of the
  segmentation because they are short and ambiguous (`tokens`), regular expressions (`patterns`),
  and harmless phrases that overlap a term (`exclude`: 想死你 is not 想死);
- **rules**: one or more groups whose matches must all occur within `within` characters (in the
  listed order when `ordered`), a weight in (0, 1], optionally a negation group (我不会自杀) whose
  match just before the rule's head group cancels it;
- **contexts** that explain a match away (police anti-fraud publicity, news of a past incident,
  fiction and games, cooking, quoting a scam to warn): when one is present the categories it
  applies to are multiplied by its `damp` factor, which keeps them under the 0.5 threshold.

A category's score is the noisy-OR of the weights of its rules that fired, 1 - prod(1 - w): one
weak term stays low, a combination (a weapon and a selling word together) or several independent
rules push it up. A rule marked `life_safety_signal` (a first-person threat or suicide intent)
is only damped by *strong* contexts (an explicit novel excerpt, a news report), never by weak
ones such as a game word, because a missed welfare check costs more than a false alarm.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import ahocorasick
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from nlp.normalize import NormalizedText
from nlp.segment import Token
from patrol.datafiles import load_yaml_model
from patrol.schema import LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES, Evidence, RiskCategory

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_LEXICON_FILE = RESOURCES_DIR / "lexicon.yaml"

#: Around each anchor match, a combination rule tries at most this many of every other group's
#: nearest matches (long spam repeats its terms).
_MAX_MATCHES_PER_GROUP = 8


# -- the file's schema --------------------------------------------------------------------------

# YAML reads an unquoted 119 or 96110 as a number; a term is always text.
Term = Annotated[str, BeforeValidator(lambda value: str(value) if isinstance(value, int) else value)]


class TermGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[Term] = Field(default_factory=list, description="substrings of the normalised text")
    tokens: list[Term] = Field(default_factory=list, description="words that must be a whole token")
    patterns: list[str] = Field(default_factory=list, description="regular expressions")
    exclude: list[Term] = Field(default_factory=list, description="harmless phrases that overlap a term")

    @field_validator("terms", "tokens", "exclude")
    @classmethod
    def _normalised_form(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.strip():
                raise ValueError("empty term")
            if value != value.lower():
                raise ValueError(f"{value!r}: write terms lower-case (text is lower-cased before matching)")
        return values

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from exc
        return values


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    category: RiskCategory
    groups: list[str] = Field(min_length=1)
    within: int = Field(30, ge=1, description="characters from the first match's start to the last's end")
    ordered: bool = False
    weight: float = Field(gt=0, le=1)
    negated_by: str | None = None
    head: str | None = Field(None, description="group the negation applies to; default the last group")
    life_safety_signal: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.head is not None and self.head not in self.groups:
            raise ValueError(f"rule {self.id}: head {self.head!r} is not one of its groups {self.groups}")
        if self.life_safety_signal and self.category not in LIFE_SAFETY_CATEGORIES:
            raise ValueError(
                f"rule {self.id}: life_safety_signal is only for {sorted(LIFE_SAFETY_CATEGORIES)}, not {self.category}"
            )
        return self


class Context(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    weak: list[str] = Field(default_factory=list, description="groups whose match marks a weak context")
    strong: list[str] = Field(default_factory=list, description="groups whose match marks a strong context")
    applies_to: list[RiskCategory] | None = Field(None, description="categories it damps; default all")
    damp: float = Field(0.4, ge=0, lt=1, description="factor the damped categories are multiplied by")


class LexiconFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    negation_window: int = Field(3, ge=0, description="characters between a negation and the negated term")
    max_evidence_per_rule: int = Field(3, ge=1)
    groups: dict[str, TermGroup]
    rules: list[Rule]
    contexts: list[Context] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> LexiconFile:
        problems: list[str] = []
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                problems.append(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
            for name in [*rule.groups, *([rule.negated_by] if rule.negated_by else [])]:
                if name not in self.groups:
                    problems.append(f"rule {rule.id}: unknown group {name!r}")
        for context in self.contexts:
            if not context.weak and not context.strong:
                problems.append(f"context {context.id}: name at least one weak or strong group")
            for name in [*context.weak, *context.strong]:
                if name not in self.groups:
                    problems.append(f"context {context.id}: unknown group {name!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# -- results ------------------------------------------------------------------------------------


class Match(NamedTuple):
    """A group's match in the normalised text (a tuple: texts produce many, cheaply)."""

    start: int
    end: int
    term: str


@dataclass(frozen=True, slots=True)
class FoundContext:
    id: str
    strong: bool
    applies_to: frozenset[str]
    damp: float


@dataclass(slots=True)
class LexiconResult:
    scores: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)
    contexts: list[FoundContext] = field(default_factory=list)

    @property
    def context_ids(self) -> list[str]:
        return [c.id for c in self.contexts]

    def damp_factor(self, category: str, life_safety_signal: bool) -> float:
        """The factor the contexts found apply to a score in `category`.

        With a life-safety signal only strong contexts count: a game word next to a real
        first-person threat must not hide it.
        """
        factors = [c.damp for c in self.contexts if category in c.applies_to and (c.strong or not life_safety_signal)]
        return min(factors, default=1.0)


# -- the scorer ---------------------------------------------------------------------------------


_TERM, _TOKEN, _EXCLUDE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _ContextGroups:
    context: Context
    weak: frozenset[str]
    strong: frozenset[str]
    applies_to: frozenset[str]


class _Compiled:
    def __init__(self, lexicon: LexiconFile) -> None:
        self.lexicon = lexicon
        # word -> every (group, kind) it belongs to; the automaton hands back both in one lookup.
        uses: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for name, group in lexicon.groups.items():
            for kind, words in ((_TERM, group.terms), (_TOKEN, group.tokens), (_EXCLUDE, group.exclude)):
                for word in words:
                    uses[word].append((name, kind))
        self.automaton: Any = ahocorasick.Automaton()
        for word, word_uses in uses.items():
            self.automaton.add_word(word, (word, tuple(word_uses)))
        self.automaton.make_automaton()
        self.patterns = {
            name: re.compile("|".join(f"(?:{p})" for p in group.patterns))
            for name, group in lexicon.groups.items()
            if group.patterns
        }
        # Each rule is listed under its first group: a text only tries the rules whose first group
        # matched, instead of every rule.
        self.rules_by_first_group: dict[str, list[tuple[int, Rule]]] = defaultdict(list)
        for order, rule in enumerate(lexicon.rules):
            self.rules_by_first_group[rule.groups[0]].append((order, rule))
        all_categories = frozenset(RISK_CATEGORIES)
        self.contexts = [
            _ContextGroups(c, frozenset(c.weak), frozenset(c.strong), frozenset(c.applies_to or all_categories))
            for c in lexicon.contexts
        ]


class LexiconScorer:
    """Scores normalised text against the lexicon file, loaded on first use, once per instance."""

    def __init__(self, lexicon_file: Path = DEFAULT_LEXICON_FILE) -> None:
        self.lexicon_file = lexicon_file
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    @property
    def _tables(self) -> _Compiled:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    self._compiled = _Compiled(load_yaml_model(self.lexicon_file, LexiconFile))
        return self._compiled

    @property
    def version(self) -> str:
        return self._tables.lexicon.version

    @property
    def name(self) -> str:
        return f"lexicon:{self.version}"

    def find_groups(self, text: str, tokens: Sequence[Token]) -> dict[str, list[Match]]:
        """Every group's matches in `text`, in order of position."""
        tables = self._tables
        found: dict[str, set[Match]] = defaultdict(set)
        excluded: dict[str, list[tuple[int, int]]] = defaultdict(list)
        token_starts: set[int] | None = None
        token_ends: set[int] = set()
        for last, (word, uses) in tables.automaton.iter(text):
            end = last + 1
            start = end - len(word)
            for group, kind in uses:
                if kind == _EXCLUDE:
                    excluded[group].append((start, end))
                    continue
                if kind == _TOKEN:
                    if token_starts is None:
                        token_starts = {token_start for _, token_start, _ in tokens}
                        token_ends = {token_end for _, _, token_end in tokens}
                    if start not in token_starts or end not in token_ends:
                        continue
                found[group].add(Match(start, end, word))
        for group, pattern in tables.patterns.items():
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    found[group].add(Match(m.start(), m.end(), m.group()))
        result: dict[str, list[Match]] = {}
        for group, matches in found.items():
            spans = excluded.get(group)
            kept = [m for m in matches if not any(s < m.end and m.start < e for s, e in spans)] if spans else matches
            if kept:
                result[group] = sorted(kept)
        return result

    def score(self, normalized: NormalizedText, tokens: Sequence[Token]) -> LexiconResult:
        tables = self._tables
        lexicon = tables.lexicon
        groups = self.find_groups(normalized.text, tokens)
        contexts = _found_contexts(tables, groups)
        result = LexiconResult(scores=dict.fromkeys(RISK_CATEGORIES, 0.0), contexts=contexts)
        candidates = sorted(
            (entry for group in groups for entry in tables.rules_by_first_group.get(group, ())),
            key=lambda entry: entry[0],  # file order, so evidence comes out in a stable order
        )
        keep_score: dict[str, float] = {}
        life_safety_signal: set[str] = set()
        for _, rule in candidates:
            windows = _rule_windows(rule, groups, lexicon)
            if not windows:
                continue
            keep_score[rule.category] = keep_score.get(rule.category, 1.0) * (1.0 - rule.weight)
            if rule.life_safety_signal:
                life_safety_signal.add(rule.category)
            result.evidence.extend(_evidence(rule, windows, normalized))
        for category, keep in keep_score.items():
            damped = (1.0 - keep) * result.damp_factor(category, category in life_safety_signal)
            result.scores[category] = round(min(1.0, max(0.0, damped)), 4)
        return result


def _found_contexts(tables: _Compiled, groups: dict[str, list[Match]]) -> list[FoundContext]:
    found: list[FoundContext] = []
    for entry in tables.contexts:
        strong = not entry.strong.isdisjoint(groups)
        if strong or not entry.weak.isdisjoint(groups):
            found.append(FoundContext(entry.context.id, strong, entry.applies_to, entry.context.damp))
    return found


def _rule_windows(rule: Rule, groups: dict[str, list[Match]], lexicon: LexiconFile) -> list[tuple[Match, ...]]:
    """Up to `max_evidence_per_rule` sets of matches, one per group, that satisfy the rule."""
    lists = [groups.get(name, []) for name in rule.groups]
    if not all(lists):
        return []
    if rule.negated_by is not None:
        head = rule.groups.index(rule.head) if rule.head else len(rule.groups) - 1
        negations = groups.get(rule.negated_by, [])
        lists[head] = [m for m in lists[head] if not _negated(m, negations, lexicon.negation_window)]
        if not lists[head]:
            return []
    limit = lexicon.max_evidence_per_rule
    if len(lists) == 1:
        return [(m,) for m in lists[0][:limit]]
    # Anchor on the group with the fewest matches and only look at the other groups' matches
    # near each anchor, so a long post that repeats a common word (你, 出) costs little.
    anchor_group = min(range(len(lists)), key=lambda i: len(lists[i]))
    windows: list[tuple[Match, ...]] = []
    used: set[Match] = set()
    for anchor in lists[anchor_group]:
        near: list[list[Match]] = []
        for index, matches in enumerate(lists):
            if index == anchor_group:
                near.append([anchor])
                continue
            close = [
                m
                for m in matches
                if m not in used and m.start >= anchor.end - rule.within and m.end <= anchor.start + rule.within
            ]
            close.sort(key=lambda m: abs(m.start - anchor.start))
            near.append(close[:_MAX_MATCHES_PER_GROUP])
        for combo in itertools.product(*near):
            if anchor not in used and _fits(combo, rule):
                windows.append(combo)
                used.update(combo)
                break
        if len(windows) >= limit:
            break
    return windows


def _fits(combo: tuple[Match, ...], rule: Rule) -> bool:
    if max(m.end for m in combo) - min(m.start for m in combo) > rule.within:
        return False
    ordered = sorted(combo, key=lambda m: m.start)
    if any(a.end > b.start for a, b in itertools.pairwise(ordered)):
        return False  # one stretch of text cannot be two of the rule's parts
    return not rule.ordered or list(combo) == ordered


def _negated(match: Match, negations: Sequence[Match], window: int) -> bool:
    return any(n.end <= match.start and match.start - n.end <= window for n in negations)


def _evidence(rule: Rule, windows: list[tuple[Match, ...]], normalized: NormalizedText) -> list[Evidence]:
    evidence: list[Evidence] = []
    seen: set[tuple[int, int]] = set()
    for window in windows:
        for match in window:
            if (match.start, match.end) in seen:
                continue
            seen.add((match.start, match.end))
            start, end = normalized.to_original(match.start, match.end)
            evidence.append(
                Evidence(
                    category=rule.category,
                    signal="lexicon",
                    rule=rule.id,
                    term=match.term,
                    start=start,
                    end=end,
                    weight=rule.weight,
                )
            )
    return evidence
