"""The quality run behind ``docs/QUALITY.md``: the trained models and a TF-IDF + logistic regression
baseline, trained on the same training split in the same run, measured on the same dev splits."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nlp.model.baseline import NgramClassifier
from nlp.model.datasets import (
    LABELLED_DIR,
    RISK_LABELS,
    CorpusRecipe,
    Example,
    SentimentExample,
    build_risk_corpus,
    load_cold,
    load_fraud,
    load_labelled,
    load_reviews,
    load_sentiment,
    load_tnews,
)
from nlp.model.evaluate import EvalReport, classification_report, risk_label
from nlp.model.train import label_matrix, tune_thresholds

REVIEW_DEV_SAMPLE = 3_000


class RiskPredictor(Protocol):
    labels: list[str]
    thresholds: dict[str, float]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray: ...


class NgramRiskBaseline:
    """Char 1-3-gram TF-IDF + one logistic regression per category, thresholds chosen on the tune split."""

    def __init__(self, model: NgramClassifier, thresholds: dict[str, float]) -> None:
        self.model = model
        self.labels = list(model.labels)
        self.thresholds = thresholds

    @classmethod
    def train(
        cls, data_dir: Path | None, recipe: CorpusRecipe = CorpusRecipe(), labelled_dir: Path = LABELLED_DIR
    ) -> NgramRiskBaseline:
        labels = list(RISK_LABELS)
        train = build_risk_corpus(data_dir, "train", recipe, labelled_dir)
        tune = build_risk_corpus(data_dir, "tune", recipe, labelled_dir)
        model = NgramClassifier(labels).fit([e.text for e in train], label_matrix(train, labels))
        thresholds, _ = tune_thresholds(model.predict_proba([e.text for e in tune]), label_matrix(tune, labels), labels)
        return cls(model, thresholds)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(texts)


def risk_dev_sets(data_dir: Path, labelled_dir: Path = LABELLED_DIR) -> dict[str, list[Example]]:
    """Every dev split, by name. None of it is used for training or for choosing thresholds."""
    return {
        "cold_dev": load_cold(data_dir, "dev"),
        "fraud_heldout": load_fraud(data_dir, "dev"),
        "reviews_heldout": load_reviews(data_dir, "dev", REVIEW_DEV_SAMPLE),
        "tnews_heldout": load_tnews(data_dir, "dev"),
        "labelled_dev": load_labelled("dev", labelled_dir),
    }


def predict_risk_labels(predictor: RiskPredictor, texts: Sequence[str]) -> list[str]:
    probabilities = predictor.probabilities(texts)
    return [
        risk_label(dict(zip(predictor.labels, row.tolist(), strict=True)), predictor.thresholds)
        for row in probabilities
    ]


def evaluate_risk(predictor: RiskPredictor, examples: Sequence[Example]) -> EvalReport:
    predicted = predict_risk_labels(predictor, [e.text for e in examples])
    return classification_report([e.gold_label for e in examples], predicted)


def evaluate_sentiment_scores(scores: Sequence[float], examples: Sequence[SentimentExample]) -> EvalReport:
    """Binary decision by the sign of the score (the gold data has no neutral class)."""
    gold = ["positive" if e.positive else "negative" for e in examples]
    predicted = ["positive" if s > 0 else "negative" for s in scores]
    return classification_report(gold, predicted, negative_label="__no_negative_class__")


def _timed(fn: Callable[[], EvalReport]) -> tuple[EvalReport, float]:
    started = time.monotonic()
    report = fn()
    return report, round(time.monotonic() - started, 2)


def run_quality(
    data_dir: Path,
    risk_model_dir: Path | None,
    sentiment_model_dir: Path | None,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every saved model beside a freshly trained baseline. Returns a JSON-ready dict."""
    from nlp.model.card import has_card
    from nlp.model.scorer import TransformersRiskScorer
    from nlp.model.sentiment import SentimentScorer

    say = progress or (lambda _msg: None)
    result: dict[str, Any] = {"data_dir": str(data_dir), "risk": {}, "sentiment": {}}
    dev_sets = risk_dev_sets(data_dir)
    say("training the n-gram risk baseline")
    predictors: dict[str, RiskPredictor] = {"baseline_ngram": NgramRiskBaseline.train(data_dir)}
    if risk_model_dir is not None and has_card(risk_model_dir):
        model = TransformersRiskScorer.from_pretrained(risk_model_dir)
        result["risk_model"] = {
            "dir": str(risk_model_dir),
            "version": model.version,
            "ngram_weight": model.ngram_weight,
        }
        predictors["model"] = model
        if model.ngram_weight > 0:
            predictors["model_transformers_only"] = TransformersRiskScorer.from_pretrained(
                risk_model_dir, variant="transformers"
            )
    for set_name, examples in dev_sets.items():
        result["risk"][set_name] = {}
        for name, predictor in predictors.items():
            say(f"risk: {name} on {set_name} ({len(examples)} rows)")
            report, seconds = _timed(lambda p=predictor, ex=examples: evaluate_risk(p, ex))  # type: ignore[misc]
            result["risk"][set_name][name] = report.to_dict() | {"seconds": seconds}

    sentiment_dev = load_sentiment(data_dir, "dev")
    say("training the n-gram sentiment baseline")
    baseline = NgramClassifier(["positive"]).fit(
        [e.text for e in load_sentiment(data_dir, "train")],
        np.array([[float(e.positive)] for e in load_sentiment(data_dir, "train")]),
    )
    sentiment_scores: dict[str, list[float]] = {
        "baseline_ngram": (2.0 * baseline.predict_proba([e.text for e in sentiment_dev])[:, 0] - 1.0).tolist()
    }
    if sentiment_model_dir is not None and has_card(sentiment_model_dir):
        scorer = SentimentScorer.from_pretrained(sentiment_model_dir)
        result["sentiment_model"] = {
            "dir": str(sentiment_model_dir),
            "version": scorer.version,
            "backend": scorer.card.backend,
        }
        sentiment_scores["model"] = scorer.score([e.text for e in sentiment_dev])
    for source in ("all", "waimai", "shopping"):
        rows = [i for i, e in enumerate(sentiment_dev) if source == "all" or e.source == source]
        subset = [sentiment_dev[i] for i in rows]
        result["sentiment"][f"{source}_heldout"] = {
            name: evaluate_sentiment_scores([scores[i] for i in rows], subset).to_dict()
            for name, scores in sentiment_scores.items()
        }
    return result


def export_dev_csvs(data_dir: Path, out_dir: Path) -> list[Path]:
    """Write every dev split as a ``text,label`` CSV for ``patrol model eval`` (outside the repository:
    the public sets' licences forbid copying them into it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, examples in risk_dev_sets(data_dir).items():
        path = out_dir / f"risk_{name}.csv"
        _write_rows(path, ((e.text, e.gold_label) for e in examples))
        written.append(path)
    path = out_dir / "sentiment_heldout.csv"
    _write_rows(path, ((e.text, "positive" if e.positive else "negative") for e in load_sentiment(data_dir, "dev")))
    written.append(path)
    return written


def _write_rows(path: Path, rows: Any) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
