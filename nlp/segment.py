"""Word segmentation of normalised text, with the project's user dictionary.

`RjiebaSegmenter` is the one the pipeline uses: jieba's dictionary and algorithm in Rust (jieba-rs
through rjieba), several times faster than jieba. rjieba has no `load_userdict`, but its
`Jieba.add_word(word, freq, tag)` adds a word to the same prefix dictionary jieba's loader fills
(with `freq=None` jieba-rs suggests a frequency high enough for the word to be cut out whole), so
the user dictionary is read here and added word by word. `JiebaSegmenter` (pure Python jieba) has
the same interface, for comparison benchmarks.

User dictionary format (jieba's): one word per line, optionally followed by a frequency and a
part-of-speech tag, separated by spaces; `#` starts a comment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from patrol.datafiles import ConfigFileError

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_USER_DICT = RESOURCES_DIR / "userdict.txt"


#: A word of the normalised text and its character span there: (word, start, end). A plain tuple,
#: exactly as the segmenters return it, because building an object per token cost more than
#: segmenting.
Token = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class UserWord:
    word: str
    freq: int | None = None
    tag: str | None = None


#: Extra words to add, or a function returning them (called when the dictionary is built, so the
#: gazetteer is only read when segmentation is first needed).
ExtraWords = Iterable[str] | Callable[[], Iterable[str]]


def _resolve(extra_words: ExtraWords) -> tuple[str, ...]:
    return tuple(extra_words() if callable(extra_words) else extra_words)


class Segmenter(Protocol):
    name: str

    def tokenize(self, text: str) -> list[Token]: ...

    def search_tokenize(self, text: str) -> list[Token]: ...

    def cut(self, text: str) -> list[str]: ...


def read_user_dict(path: Path) -> list[UserWord]:
    """Read a jieba-format user dictionary; errors name the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: user dictionary not found; create it or set PATROL_USER_DICT_FILE") from exc
    words: list[UserWord] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) > 3:
            raise ConfigFileError(f"{path}, line {number}: expected 'word [freq] [tag]', got {raw!r}")
        freq: int | None = None
        tag: str | None = None
        if len(parts) >= 2:
            if parts[1].isdigit():
                freq = int(parts[1])
                tag = parts[2] if len(parts) == 3 else None
            elif len(parts) == 2:
                tag = parts[1]
            else:
                raise ConfigFileError(f"{path}, line {number}: the frequency {parts[1]!r} is not a whole number")
        words.append(UserWord(parts[0], freq, tag))
    return words


class RjiebaSegmenter:
    """jieba-rs segmentation; the dictionary is built on first use, once per instance."""

    name = "rjieba"

    def __init__(self, user_dict: Path | None = DEFAULT_USER_DICT, extra_words: ExtraWords = ()) -> None:
        self.user_dict = user_dict
        self.extra_words = extra_words
        self._jieba: _RjiebaEngine | None = None
        self._lock = threading.Lock()

    def _engine(self) -> _RjiebaEngine:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    self._jieba = _build_rjieba(self.user_dict, _resolve(self.extra_words))
        return self._jieba

    def tokenize(self, text: str) -> list[Token]:
        return self._engine().tokenize(text)

    def search_tokenize(self, text: str) -> list[Token]:
        """Search-engine granularity: long words also yield their dictionary sub-words
        (燃气泄漏 -> 燃气, 泄漏, 燃气泄漏), so a search for 燃气 finds the post."""
        return self._engine().tokenize(text, "search")

    def cut(self, text: str) -> list[str]:
        return self._engine().cut(text)


class _RjiebaEngine(Protocol):
    def tokenize(self, text: str, mode: str = "default", hmm: bool = True) -> list[tuple[str, int, int]]: ...

    def cut(self, text: str, hmm: bool = True) -> list[str]: ...


def _build_rjieba(user_dict: Path | None, extra_words: Sequence[str]) -> _RjiebaEngine:
    import rjieba

    engine = rjieba.Jieba()
    for entry in read_user_dict(user_dict) if user_dict else []:
        engine.add_word(entry.word, entry.freq, entry.tag)
    for word in extra_words:
        if not engine.has_word(word):
            engine.add_word(word, None, None)
    return engine


class JiebaSegmenter:
    """Pure-Python jieba with the same user words; slower, kept for comparison."""

    name = "jieba"

    def __init__(self, user_dict: Path | None = DEFAULT_USER_DICT, extra_words: ExtraWords = ()) -> None:
        self.user_dict = user_dict
        self.extra_words = extra_words
        self._tokenizer: _JiebaEngine | None = None
        self._lock = threading.Lock()

    def _engine(self) -> _JiebaEngine:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = _build_jieba(self.user_dict, _resolve(self.extra_words))
        return self._tokenizer

    def tokenize(self, text: str) -> list[Token]:
        return list(self._engine().tokenize(text))

    def search_tokenize(self, text: str) -> list[Token]:
        return list(self._engine().tokenize(text, mode="search"))

    def cut(self, text: str) -> list[str]:
        return list(self._engine().cut(text))


class _JiebaEngine(Protocol):
    def tokenize(
        self, unicode_sentence: str, mode: str = "default", HMM: bool = True
    ) -> Iterable[tuple[str, int, int]]: ...

    def cut(self, sentence: str, cut_all: bool = False, HMM: bool = True) -> Iterable[str]: ...


def _build_jieba(user_dict: Path | None, extra_words: Sequence[str]) -> _JiebaEngine:
    import jieba

    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    # Added one by one (not jieba's load_userdict) so both segmenters read the file the same way.
    for entry in read_user_dict(user_dict) if user_dict else []:
        tokenizer.add_word(entry.word, entry.freq, entry.tag)
    for word in extra_words:
        if not tokenizer.FREQ.get(word):
            tokenizer.add_word(word)
    return tokenizer  # type: ignore[no-any-return]
