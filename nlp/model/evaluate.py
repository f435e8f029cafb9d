"""Metrics for labelled CSVs: accuracy, macro-F1, per-label precision/recall/F1 and false-positive rate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nlp.model.datasets import NONE_LABEL


@dataclass(frozen=True)
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    """Scores of one labelled set.

    ``macro_f1`` averages F1 over the labels present in the gold data (``none`` included);
    ``false_positive_rate`` is the share of gold ``none`` rows given any other label (None: no such rows).
    """

    n: int
    accuracy: float
    macro_f1: float
    false_positive_rate: float | None
    per_label: dict[str, LabelScores] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def classification_report(
    gold: Sequence[str], predicted: Sequence[str], negative_label: str = NONE_LABEL
) -> EvalReport:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    labels = sorted(set(gold) | set(predicted))
    per_label: dict[str, LabelScores] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScores(round(precision, 4), round(recall, 4), round(f1, 4), tp + fn)
    gold_labels = sorted(set(gold))
    negatives = [p for g, p in zip(gold, predicted, strict=True) if g == negative_label]
    return EvalReport(
        n=len(gold),
        accuracy=round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold), 4) if gold else 0.0,
        macro_f1=round(float(np.mean([per_label[label].f1 for label in gold_labels])), 4) if gold else 0.0,
        false_positive_rate=(
            round(sum(p != negative_label for p in negatives) / len(negatives), 4) if negatives else None
        ),
        per_label=per_label,
    )


def risk_label(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> str:
    """The row's label: the most probable category among those over their threshold, else ``none``."""
    over = [(score, category) for category, score in scores.items() if score >= thresholds.get(category, 0.5)]
    return max(over)[1] if over else NONE_LABEL


def sentiment_label(score: float, neutral_band: float) -> str:
    if score > neutral_band:
        return "positive"
    if score < -neutral_band:
        return "negative"
    return "neutral"


def best_threshold(probabilities: np.ndarray, positives: np.ndarray, *, floor: float = 0.05) -> float:
    """The threshold (on a 0.025 grid, at least ``floor``) with the best F1; ties go to the higher one,
    which flags less. With no positive example the threshold stays high (0.9).

    The floor is low on purpose: a rare category's probabilities can rank well yet sit far below 0.5.
    """
    if not positives.any():
        return 0.9
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(floor, 0.951, 0.025):
        flagged = probabilities >= threshold
        tp = float(np.sum(flagged & positives))
        fp = float(np.sum(flagged & ~positives))
        fn = float(np.sum(~flagged & positives))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 >= best_f1:
            best, best_f1 = float(round(threshold, 3)), f1
    return best
