"""Lexicon sentiment of a post: a score in -1..1 and a label, until a trained model replaces it.

The word lists are data (`resources/sentiment.yaml`). Tokens are scored left to right: a word's
polarity weight, multiplied by an intensifier right before it, flipped by a negator up to two
tokens before it (不好吃 -> negative, 不是很好 -> negative). The post's score is tanh(sum / 2).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from patrol.datafiles import load_yaml_model

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_SENTIMENT_FILE = RESOURCES_DIR / "sentiment.yaml"

Word = Annotated[str, BeforeValidator(lambda value: str(value) if isinstance(value, int | float) else value)]


class SentimentFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    neutral_band: float = Field(0.15, ge=0, lt=1)
    positive: dict[float, list[Word]]
    negative: dict[float, list[Word]]
    negators: list[Word]
    intensifiers: dict[float, list[Word]] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sentiment:
    score: float
    label: str  # positive | neutral | negative


@dataclass(frozen=True, slots=True)
class _Tables:
    polarity: dict[str, float]
    negators: frozenset[str]
    intensifiers: dict[str, float]
    neutral_band: float


class LexiconSentiment:
    """Scores token lists; the lexicon loads on first use, once per instance."""

    def __init__(self, sentiment_file: Path = DEFAULT_SENTIMENT_FILE) -> None:
        self.sentiment_file = sentiment_file
        self._tables: _Tables | None = None
        self._lock = threading.Lock()

    def _load(self) -> _Tables:
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    config = load_yaml_model(self.sentiment_file, SentimentFile)
                    polarity: dict[str, float] = {}
                    for weight, words in config.positive.items():
                        polarity.update(dict.fromkeys(words, abs(weight)))
                    for weight, words in config.negative.items():
                        polarity.update(dict.fromkeys(words, -abs(weight)))
                    intensifiers = {w: factor for factor, words in config.intensifiers.items() for w in words}
                    self._tables = _Tables(polarity, frozenset(config.negators), intensifiers, config.neutral_band)
        return self._tables

    def score(self, tokens: Sequence[str]) -> Sentiment:
        tables = self._load()
        total = 0.0
        for index, token in enumerate(tokens):
            weight = tables.polarity.get(token)
            if weight is None:
                continue
            if index >= 1 and tokens[index - 1] in tables.intensifiers:
                weight *= tables.intensifiers[tokens[index - 1]]
            window = tokens[max(0, index - 2) : index]
            if any(t in tables.negators for t in window):
                weight = -weight * 0.8  # 不好 is milder than 坏
            total += weight
        value = round(math.tanh(total / 2), 4)
        if value > tables.neutral_band:
            label = "positive"
        elif value < -tables.neutral_band:
            label = "negative"
        else:
            label = "neutral"
        return Sentiment(value, label)
