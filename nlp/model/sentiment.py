"""Sentiment of a post as one number in -1..1 (negative .. positive), with a neutral band around 0.

Trained on the waimai and online-shopping reviews (positive/negative). Two backends share one card
format: the character n-gram model (``ngram``) and the small BERT recipe of the risk model
(``transformers``); ``docs/QUALITY.md`` says which one is the default and why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from nlp.model.card import ModelCard, content_version, has_card, now_utc, read_card, write_card
from nlp.model.datasets import SentimentExample, load_sentiment
from nlp.model.evaluate import sentiment_label
from nlp.model.text import model_text

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from nlp.model.architecture import SmallBert
    from nlp.model.baseline import NgramClassifier
    from patrol.config import Settings

Backend = Literal["ngram", "transformers"]
SENTIMENT_LABELS: list[str] = ["negative", "positive"]
DEFAULT_NEUTRAL_BAND = 0.2


@dataclass
class SentimentTrainResult:
    out_dir: Path
    version: str
    backend: str
    train_examples: int
    tune_accuracy: float
    seconds: float


def _accuracy(scores: np.ndarray, examples: Sequence[SentimentExample]) -> float:
    if not examples:
        return 0.0
    gold = np.array([e.positive for e in examples])
    return round(float(np.mean((scores > 0) == gold)), 4)


def fit_sentiment_model(
    train: Sequence[SentimentExample],
    tune: Sequence[SentimentExample],
    out_dir: Path,
    *,
    backend: Backend = "ngram",
    init: Path | None = None,
    max_steps: int | None = None,
    epochs: float = 2.0,
    batch_size: int = 32,
    seed: int = 13,
    max_length: int = 128,
    threads: int | None = None,
    architecture: SmallBert | None = None,
    learning_rate: float | None = None,
    time_budget_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> SentimentTrainResult:
    """Train a sentiment model on given examples and save it with its card in ``out_dir``."""
    import time

    started = time.monotonic()
    texts = [e.text for e in train]
    out_dir.mkdir(parents=True, exist_ok=True)
    training: dict[str, object] = {
        "train_examples": len(train),
        "tune_examples": len(tune),
        "sources": sorted({e.source for e in train}),
    }
    if backend == "ngram":
        from nlp.model.baseline import NgramClassifier

        ngram = NgramClassifier(["positive"]).fit(texts, np.array([[float(e.positive)] for e in train]))
        ngram.save(out_dir)
        tune_scores = 2.0 * ngram.predict_proba([e.text for e in tune])[:, 0] - 1.0
    else:
        from nlp.model.architecture import SmallBert, build_classifier
        from nlp.model.loop import FitConfig, fit, predict_logits, seed_everything, set_threads, softmax

        set_threads(threads)
        seed_everything(seed)
        model, tokenizer = build_classifier(
            SENTIMENT_LABELS,
            texts,
            init=init,
            multi_label=False,
            max_length=max_length,
            architecture=architecture or SmallBert(),
        )
        config = FitConfig(
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            learning_rate=learning_rate or (5e-5 if init else 1e-3),
            max_length=max_length,
            seed=seed,
            time_budget_s=time_budget_s,
        )
        stats = fit(
            model,
            tokenizer,
            texts,
            np.array([int(e.positive) for e in train]),
            config,
            multi_label=False,
            progress=progress,
        )
        training.update(steps=stats.steps, fit_seconds=stats.seconds, stopped_by_time=stats.stopped_by_time)
        model.save_pretrained(str(out_dir))
        tokenizer.save_pretrained(str(out_dir))
        probs = softmax(predict_logits(model, tokenizer, [e.text for e in tune], max_length=max_length))
        tune_scores = probs[:, 1] - probs[:, 0]
    tune_accuracy = _accuracy(tune_scores, tune)
    training["tune_accuracy"] = tune_accuracy
    version = content_version("sentiment", out_dir)
    write_card(
        out_dir,
        ModelCard(
            task="sentiment",
            backend=backend,
            version=version,
            created_at=now_utc(),
            labels=SENTIMENT_LABELS,
            max_length=max_length,
            neutral_band=DEFAULT_NEUTRAL_BAND,
            init=str(init) if init else None,
            training=training,
        ),
    )
    seconds = round(time.monotonic() - started, 1)
    return SentimentTrainResult(out_dir, version, backend, len(train), tune_accuracy, seconds)


def train_sentiment_model(
    data_dir: Path,
    out_dir: Path,
    *,
    backend: Backend = "ngram",
    train_limit: int | None = None,
    **options: object,
) -> SentimentTrainResult:
    """Train on the shared review sets (train split), check on their tune split, save to ``out_dir``."""
    train = load_sentiment(data_dir, "train", train_limit)
    tune = load_sentiment(data_dir, "tune", 5_000)
    return fit_sentiment_model(train, tune, out_dir, backend=backend, **options)  # type: ignore[arg-type]


class SentimentScorer:
    """``score(texts) -> list[float]`` in -1..1; ``label(score)`` names positive/neutral/negative."""

    name: str
    version: str

    def __init__(self, model_dir: Path, card: ModelCard, *, batch_size: int = 64) -> None:
        if card.task != "sentiment":
            raise ValueError(f"{model_dir} holds a {card.task} model, not a sentiment model")
        self.model_dir = model_dir
        self.card = card
        self.batch_size = batch_size
        self.name = f"{card.backend}_sentiment"
        self.version = card.version
        self.neutral_band = card.neutral_band
        self._lock = threading.Lock()
        self._ngram: NgramClassifier | None = None
        self._model: PreTrainedModel | None = None
        self._tokenizer: PreTrainedTokenizerBase | None = None

    @classmethod
    def from_pretrained(cls, model_dir: Path | str, *, batch_size: int = 64) -> SentimentScorer:
        path = Path(model_dir)
        return cls(path, read_card(path), batch_size=batch_size)

    def _load(self) -> None:
        with self._lock:
            if self._ngram is not None or self._model is not None:
                return
            if self.card.backend == "ngram":
                from nlp.model.baseline import NgramClassifier

                self._ngram = NgramClassifier.load(self.model_dir)
            else:
                from transformers import AutoModelForSequenceClassification

                from nlp.model.tokenizer import load_tokenizer

                self._tokenizer = load_tokenizer(self.model_dir)
                self._model = AutoModelForSequenceClassification.from_pretrained(str(self.model_dir))
                self._model.eval()

    def score(self, texts: Sequence[str]) -> list[float]:
        self._load()
        prepared = [model_text(text) for text in texts]
        if not prepared:
            return []
        if self._ngram is not None:
            scores = 2.0 * self._ngram.predict_proba(prepared)[:, 0] - 1.0
        else:
            from nlp.model.loop import predict_logits, softmax

            assert self._model is not None and self._tokenizer is not None
            probs = softmax(
                predict_logits(
                    self._model,
                    self._tokenizer,
                    prepared,
                    batch_size=self.batch_size,
                    max_length=self.card.max_length,
                )
            )
            scores = probs[:, 1] - probs[:, 0]
        return [float(value) for value in np.clip(scores, -1.0, 1.0)]

    def label(self, score: float) -> str:
        return sentiment_label(score, self.neutral_band)


def sentiment_model_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "models" / "sentiment"


def load_default_sentiment_scorer(settings: Settings) -> SentimentScorer | None:
    """The scorer in ``<data_dir>/models/sentiment``, or None when no model was trained there yet."""
    model_dir = sentiment_model_dir(settings)
    return SentimentScorer.from_pretrained(model_dir) if has_card(model_dir) else None
