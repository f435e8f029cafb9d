"""``TransformersRiskScorer``: the trained risk model behind the pipeline's ``RiskScorer`` protocol."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from nlp.model.card import ModelCard, has_card, read_card
from nlp.model.text import model_text

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from nlp.model.baseline import NgramClassifier
    from patrol.config import Settings

Variant = Literal["default", "transformers", "ngram"]


class TransformersRiskScorer:
    """Per-category probabilities from the saved model (and its n-gram partner, when the card says so).

    The weights load lazily, once, on the first ``score`` call; ``from_pretrained`` only reads the
    card, so building a scorer is cheap and fails early on a folder without a model.
    ``variant`` picks a component alone (``transformers`` or ``ngram``), for measuring the ensemble.
    """

    name: str
    version: str

    def __init__(self, model_dir: Path, card: ModelCard, *, batch_size: int = 64, variant: Variant = "default") -> None:
        if card.task != "risk":
            raise ValueError(f"{model_dir} holds a {card.task} model, not a risk model")
        self.model_dir = model_dir
        self.card = card
        self.batch_size = batch_size
        self.labels: list[str] = list(card.labels)
        self.ngram_weight = {"default": card.ngram_weight, "transformers": 0.0, "ngram": 1.0}[variant]
        if variant == "default":
            self.thresholds: dict[str, float] = dict(card.thresholds)
        else:
            if variant not in card.variant_thresholds:
                raise ValueError(f"{model_dir}: no thresholds for the {variant} component alone")
            self.thresholds = dict(card.variant_thresholds[variant])
        self.name = "transformers_risk" if variant == "default" else f"transformers_risk_{variant}"
        self.version = card.version
        self._lock = threading.Lock()
        self._model: PreTrainedModel | None = None
        self._tokenizer: PreTrainedTokenizerBase | None = None
        self._ngram: NgramClassifier | None = None
        self._loaded = False

    @classmethod
    def from_pretrained(
        cls, model_dir: Path | str, *, batch_size: int = 64, variant: Variant = "default"
    ) -> TransformersRiskScorer:
        path = Path(model_dir)
        return cls(path, read_card(path), batch_size=batch_size, variant=variant)

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            if self.ngram_weight < 1.0:
                from transformers import AutoModelForSequenceClassification

                from nlp.model.tokenizer import load_tokenizer

                self._tokenizer = load_tokenizer(self.model_dir)
                self._model = AutoModelForSequenceClassification.from_pretrained(str(self.model_dir))
                self._model.eval()
            if self.ngram_weight > 0.0:
                from nlp.model.baseline import NgramClassifier
                from nlp.model.train import NGRAM_SUBDIR

                self._ngram = NgramClassifier.load(self.model_dir / NGRAM_SUBDIR)
            self._loaded = True

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities of shape (texts, labels), in the order of ``self.labels``."""
        self._load()
        prepared = [model_text(text) for text in texts]
        result = np.zeros((len(prepared), len(self.labels)), dtype=np.float32)
        if not prepared:
            return result
        if self._model is not None and self._tokenizer is not None:
            from nlp.model.loop import predict_logits, sigmoid

            logits = predict_logits(
                self._model,
                self._tokenizer,
                prepared,
                batch_size=self.batch_size,
                max_length=self.card.max_length,
            )
            result += (1.0 - self.ngram_weight) * sigmoid(logits)
        if self._ngram is not None:
            result += self.ngram_weight * self._ngram.predict_proba(prepared)
        return np.clip(result, 0.0, 1.0)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One ``{category: probability}`` per text, every category present."""
        return [
            {label: float(value) for label, value in zip(self.labels, row, strict=True)}
            for row in self.probabilities(texts)
        ]


def load_default_risk_scorer(settings: Settings) -> TransformersRiskScorer | None:
    """The scorer in ``settings.risk_model_dir``, or None when no model was trained there yet."""
    model_dir = Path(settings.risk_model_dir)
    if not has_card(model_dir):
        return None
    return TransformersRiskScorer.from_pretrained(model_dir)
