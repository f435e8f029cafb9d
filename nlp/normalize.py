"""Text normalisation with an offset map back to the original text.

Every later step (segmentation, lexicon, places, SimHash) works on the normalised text, but the
officer reads the original post, so every span found in the normalised text must map back to the
characters the author typed. `NormalizedText.to_original` does that.

Steps, in order:
1. width and case folding: NFKC per character (full-width -> half-width, compatibility forms),
   latin lower-case; one character in, one out where possible, so offsets stay put;
2. traditional -> simplified (zhconv's phrase-aware table, which never changes the length);
3. characters that expand under NFKC (…, ㈱) are expanded; zero-width, bidi and other format
   characters and variation selectors are removed;
4. separators put between Chinese characters to split a word (枪 支, 枪-支, 枪*支, 枪🔫支) are removed;
5. obfuscated spellings (V信, 扣扣, pinyin in risk contexts) are replaced, as listed in
   `resources/variants.yaml`;
6. runs of whitespace become one space (or one newline) and the ends are trimmed.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import ahocorasick
import zhconv
from pydantic import BaseModel, ConfigDict, Field, field_validator

from patrol.datafiles import ConfigFileError, load_yaml_model

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_VARIANTS_FILE = RESOURCES_DIR / "variants.yaml"

CJK_CLASS = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_LATIN_OR_DIGIT = re.compile(r"[a-z0-9]")
_WHITESPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """The normalised text and, per normalised character, the original span it came from.

    `starts`/`ends` are None when normalisation kept every character in place (the common case),
    meaning offsets are the same in both texts.
    """

    original: str
    text: str
    starts: tuple[int, ...] | None
    ends: tuple[int, ...] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the normalised text to the span of the original text it came from."""
        if not 0 <= start <= end <= len(self.text):
            raise IndexError(f"span ({start}, {end}) is outside the normalised text of length {len(self.text)}")
        if self.starts is None or self.ends is None:
            return start, end
        if start == end:
            position = self.starts[start] if start < len(self.starts) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]

    def original_slice(self, start: int, end: int) -> str:
        """The original characters behind a span of the normalised text."""
        begin, finish = self.to_original(start, end)
        return self.original[begin:finish]


# -- configuration ------------------------------------------------------------------------------


class VariantCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: str | None = Field(None, description="regex tested against the 8 characters before the spelling")
    after: str | None = Field(None, description="regex tested against the 20 characters after it")

    @field_validator("before", "after")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    from_: list[str] = Field(alias="from", min_length=1)
    only_if: VariantCondition | None = None


class VariantsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    separators: str = Field(description="regex character class of separators removed between Chinese characters")
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("separators")
    @classmethod
    def _separators_compile(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression character class: {exc}") from exc
        return value


# -- the character tables -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CharFolding:
    one_to_one: dict[int, str]  # for str.translate: folds that keep the length
    expansions: dict[str, str]  # BMP characters that expand or disappear
    special: re.Pattern[str]  # an expanding BMP character, or any astral character
    traditional: re.Pattern[str]  # a traditional-only BMP character
    traditional_astral: frozenset[str]


@cache
def _char_folding() -> _CharFolding:
    # Built once per process (the BMP's 63k code points, tens of milliseconds), then read-only.
    # Astral characters (emoji, mathematical letters) are folded one by one when they occur: a
    # character class that lists astral characters makes `re` fall back to a slow range scan.
    one_to_one: dict[int, str] = {}
    expansions: dict[str, str] = {}
    for cp in itertools.chain(range(0xD800), range(0xE000, 0x10000)):
        char = chr(cp)
        folded = _fold(char)
        if folded == char:
            continue
        if len(folded) == 1:
            one_to_one[cp] = folded
        else:
            expansions[char] = folded
    zhconv.loaddict()
    traditional = frozenset(zhconv.zhconv.zhcdicts["TRADONLY"])
    return _CharFolding(
        one_to_one,
        expansions,
        re.compile(_char_class(expansions) + "|[\U00010000-\U0010ffff]"),
        re.compile(_char_class(c for c in traditional if ord(c) < 0x10000)),
        frozenset(c for c in traditional if ord(c) >= 0x10000),
    )


def _char_class(chars: Iterable[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


@cache
def _fold(char: str) -> str:
    """One character's NFKC, lower-case form; '' for format characters and variation selectors."""
    if unicodedata.category(char) == "Cf" or 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF:
        return ""  # zero-width, bidi controls, soft hyphen, tags, variation selectors
    return unicodedata.normalize("NFKC", char).lower()


# -- the normaliser -----------------------------------------------------------------------------

_Edit = tuple[int, int, str]  # replace text[start:end] by the string


class _Spans:
    """The normalised text under construction and the original span of each of its characters.

    The offset map stays `None` (identity) until an edit changes the length: most posts only
    go through the length-keeping steps.
    """

    __slots__ = ("ends", "starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] | None = None
        self.ends: list[int] | None = None

    def apply(self, edits: Iterable[_Edit]) -> None:
        """Apply non-overlapping, ordered replacements, carrying the offset map along."""
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        position = 0
        old_starts = self.starts
        old_ends = self.ends
        for start, end, replacement in edits:
            if old_starts is None or old_ends is None:
                old_starts = list(range(len(self.text)))
                old_ends = list(range(1, len(self.text) + 1))
            pieces.append(self.text[position:start])
            starts.extend(old_starts[position:start])
            ends.extend(old_ends[position:start])
            if replacement:
                pieces.append(replacement)
                if len(replacement) == end - start:
                    # Same length (vx -> 微信): keep the map character by character.
                    starts.extend(old_starts[start:end])
                    ends.extend(old_ends[start:end])
                else:
                    # Different length: every new character stands for the whole replaced span.
                    starts.extend([old_starts[start]] * len(replacement))
                    ends.extend([old_ends[end - 1]] * len(replacement))
            position = end
        if old_starts is None or old_ends is None:
            return  # no edit
        pieces.append(self.text[position:])
        starts.extend(old_starts[position:])
        ends.extend(old_ends[position:])
        self.text = "".join(pieces)
        self.starts = starts
        self.ends = ends


class Normalizer:
    """Normalises post text; loads its variant table lazily, once per instance."""

    def __init__(self, variants_file: Path = DEFAULT_VARIANTS_FILE) -> None:
        self.variants_file = variants_file
        self._compiled: _CompiledVariants | None = None
        self._lock = threading.Lock()

    @property
    def _variants(self) -> _CompiledVariants:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    config = load_yaml_model(self.variants_file, VariantsFile)
                    self._compiled = _CompiledVariants(config, self.variants_file)
        return self._compiled

    def __call__(self, text: str) -> NormalizedText:
        folding = _char_folding()
        variants = self._variants
        spans = _Spans(text.translate(folding.one_to_one))
        special = list(_special_edits(spans.text, folding))
        if folding.traditional.search(spans.text) or (
            special and not folding.traditional_astral.isdisjoint(spans.text)
        ):
            simplified = zhconv.convert(spans.text, "zh-hans")
            if len(simplified) == len(spans.text):  # zh-hans maps character for character
                spans.text = simplified
        if special:
            spans.apply(special)
        spans.apply((m.start(), m.end(), "") for m in variants.separators.finditer(spans.text))
        spans.apply(variants.edits(spans.text))
        spans.apply(_whitespace_edits(spans.text))
        if spans.starts is None or spans.ends is None:
            return NormalizedText(text, spans.text, None, None)
        return NormalizedText(text, spans.text, tuple(spans.starts), tuple(spans.ends))


def _special_edits(text: str, folding: _CharFolding) -> Iterator[_Edit]:
    for match in folding.special.finditer(text):
        char = match.group()
        folded = folding.expansions.get(char) if ord(char) < 0x10000 else _fold(char)
        if folded is not None and folded != char:
            yield match.start(), match.end(), folded


def _whitespace_edits(text: str) -> Iterator[_Edit]:
    for match in _WHITESPACE_RUN.finditer(text):
        run = match.group()
        if match.start() == 0 or match.end() == len(text):
            yield match.start(), match.end(), ""
        elif "\n" in run:
            if run != "\n":
                yield match.start(), match.end(), "\n"
        elif run != " ":
            yield match.start(), match.end(), " "


@dataclass(frozen=True, slots=True)
class _Spelling:
    to: str
    before: re.Pattern[str] | None
    after: re.Pattern[str] | None
    conditional: bool

    def applies(self, text: str, start: int, end: int) -> bool:
        if not self.conditional:
            return True
        if self.before is not None and self.before.search(text[max(0, start - 8) : start]):
            return True
        return self.after is not None and self.after.search(text[end : end + 20]) is not None


class _CompiledVariants:
    def __init__(self, config: VariantsFile, path: Path) -> None:
        self.separators = re.compile(f"(?<={CJK_CLASS}){config.separators}{{1,3}}(?={CJK_CLASS})")
        self.by_spelling: dict[str, _Spelling] = {}
        for index, variant in enumerate(config.variants):
            condition = variant.only_if
            before = re.compile(condition.before) if condition and condition.before else None
            after = re.compile(condition.after) if condition and condition.after else None
            for spelling in variant.from_:
                if spelling != spelling.lower():
                    raise ConfigFileError(
                        f"{path}: variants[{index}]: spelling {spelling!r} has upper-case letters; "
                        "write it lower-case (text is lower-cased before matching)"
                    )
                if spelling in self.by_spelling:
                    raise ConfigFileError(f"{path}: variants[{index}]: spelling {spelling!r} is listed twice")
                self.by_spelling[spelling] = _Spelling(variant.to, before, after, condition is not None)
        # An Aho-Corasick automaton finds every spelling in one pass (a regex alternation of them
        # was the slowest part of normalisation).
        self.automaton: Any = ahocorasick.Automaton()
        for spelling in self.by_spelling:
            self.automaton.add_word(spelling, spelling)
        if self.by_spelling:
            self.automaton.make_automaton()

    def edits(self, text: str) -> Iterator[_Edit]:
        if not self.by_spelling:
            return
        found = [(last + 1 - len(s), last + 1, s) for last, s in self.automaton.iter(text)]
        if not found:
            return
        found.sort(key=lambda f: (f[0], f[0] - f[1]))  # leftmost, then longest
        taken_until = 0
        for start, end, spelling in found:
            if start < taken_until or not _latin_bounded(text, start, end):
                continue
            rule = self.by_spelling[spelling]
            if rule.applies(text, start, end):
                yield start, end, rule.to
                taken_until = end


def _latin_bounded(text: str, start: int, end: int) -> bool:
    # A spelling with latin edges must not sit inside a longer latin word: "vx" yes, "vxlan" no.
    if _LATIN_OR_DIGIT.match(text[start]) and start > 0 and _LATIN_OR_DIGIT.match(text[start - 1]):
        return False
    return not (_LATIN_OR_DIGIT.match(text[end - 1]) and end < len(text) and _LATIN_OR_DIGIT.match(text[end]))


def normalize(text: str, normalizer: Normalizer | None = None) -> NormalizedText:
    """Normalise one text with the shipped variant table (or the given normaliser)."""
    return (normalizer or _default_normalizer())(text)


@cache
def _default_normalizer() -> Normalizer:
    return Normalizer()
