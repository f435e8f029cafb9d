"""Top keywords of a post: TF-IDF over its tokens with jieba's IDF table.

Single characters, numbers, punctuation and stop words are never keywords; a word missing from
the IDF table gets the table's median IDF (jieba's own rule), so new slang still ranks.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from patrol.datafiles import ConfigFileError

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_STOP_WORDS_FILE = RESOURCES_DIR / "stopwords.txt"

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[a-z]{3,}")  # words, not ids such as wxid123456


def jieba_idf_file() -> Path:
    import jieba.analyse

    return Path(jieba.analyse.__file__).resolve().parent / "idf.txt"


def read_word_list(path: Path) -> frozenset[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: word list not found; restore it from the package") from exc
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


class KeywordExtractor:
    """TF-IDF keywords; the IDF table (270k words) loads on first use, once per instance."""

    def __init__(
        self, idf_file: Path | None = None, stop_words_file: Path = DEFAULT_STOP_WORDS_FILE, top_k: int = 8
    ) -> None:
        self.idf_file = idf_file
        self.stop_words_file = stop_words_file
        self.top_k = top_k
        self._tables: tuple[dict[str, float], float, frozenset[str]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[dict[str, float], float, frozenset[str]]:
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    idf: dict[str, float] = {}
                    path = self.idf_file or jieba_idf_file()
                    for line in path.read_text(encoding="utf-8").splitlines():
                        word, _, value = line.rpartition(" ")
                        if word:
                            idf[word] = float(value)
                    median = sorted(idf.values())[len(idf) // 2] if idf else 1.0
                    self._tables = (idf, median, read_word_list(self.stop_words_file))
        return self._tables

    def is_candidate(self, word: str, stop_words: frozenset[str]) -> bool:
        if len(word) < 2 or word in stop_words:
            return False
        return bool(_CJK.search(word) or _LATIN_WORD.fullmatch(word))

    def extract(self, words: Sequence[str], top_k: int | None = None) -> list[str]:
        """The `top_k` words with the highest TF-IDF, ties broken by first occurrence."""
        idf, median, stop_words = self._load()
        counts = Counter(w for w in words if self.is_candidate(w, stop_words))
        if not counts:
            return []
        first_seen = {word: index for index, word in reversed(list(enumerate(words)))}
        ranked = sorted(counts, key=lambda w: (-counts[w] * idf.get(w, median), first_seen[w]))
        return ranked[: top_k if top_k is not None else self.top_k]
