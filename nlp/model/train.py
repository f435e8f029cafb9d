"""Training the risk model: a transformers classifier over the eight categories, optionally ensembled
with the character n-gram model where that measurably helps on the tune split."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.model.architecture import SmallBert, build_classifier
from nlp.model.baseline import NgramClassifier
from nlp.model.card import ModelCard, content_version, now_utc, write_card
from nlp.model.datasets import (
    LABELLED_DIR,
    RISK_LABELS,
    CorpusRecipe,
    Example,
    build_risk_corpus,
    corpus_summary,
)
from nlp.model.evaluate import best_threshold
from nlp.model.loop import FitConfig, fit, predict_logits, seed_everything, set_threads, sigmoid

log = logging.getLogger(__name__)

#: Candidate shares of the n-gram model in the ensemble; the best on the tune split is kept.
NGRAM_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0)
NGRAM_SUBDIR = "ngram"


@dataclass
class TrainResult:
    out_dir: Path
    version: str
    steps: int
    seconds: float
    train_examples: int
    thresholds: dict[str, float]
    ngram_weight: float
    tune_macro_f1: dict[str, float] = field(default_factory=dict)


def label_matrix(examples: Sequence[Example], labels: Sequence[str]) -> np.ndarray:
    matrix = np.zeros((len(examples), len(labels)), dtype=np.float32)
    index = {label: i for i, label in enumerate(labels)}
    for row, example in enumerate(examples):
        for label in example.labels:
            matrix[row, index[label]] = 1.0
    return matrix


def tune_thresholds(
    probabilities: np.ndarray, targets: np.ndarray, labels: Sequence[str]
) -> tuple[dict[str, float], float]:
    """Per-label F1-best thresholds and the mean F1 over labels that have positives in the tune split."""
    thresholds: dict[str, float] = {}
    f1s = []
    for column, label in enumerate(labels):
        positives = targets[:, column] > 0.5
        threshold = best_threshold(probabilities[:, column], positives)
        thresholds[label] = threshold
        if positives.any():
            flagged = probabilities[:, column] >= threshold
            tp = float(np.sum(flagged & positives))
            denominator = 2 * tp + float(np.sum(flagged & ~positives)) + float(np.sum(~flagged & positives))
            f1s.append(2 * tp / denominator if denominator else 0.0)
    return thresholds, float(np.mean(f1s)) if f1s else 0.0


def train_risk_model(
    data_dir: Path | None,
    out_dir: Path,
    init: Path | None = None,
    *,
    max_steps: int | None = None,
    epochs: float = 3.0,
    batch_size: int = 32,
    learning_rate: float | None = None,
    seed: int = 13,
    max_length: int = 128,
    threads: int | None = None,
    ensemble: bool = True,
    recipe: CorpusRecipe = CorpusRecipe(),
    labelled_dir: Path = LABELLED_DIR,
    architecture: SmallBert = SmallBert(),
    time_budget_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train, choose thresholds (and the ensemble weight) on the tune split, save to ``out_dir``.

    ``data_dir`` is the shared data folder; None trains on the in-repo labelled posts alone.
    ``init`` is a transformers checkpoint folder to fine-tune; None builds a small BERT from scratch.
    """
    say = progress or log.info
    set_threads(threads)
    seed_everything(seed)
    labels = list(RISK_LABELS)
    train = build_risk_corpus(data_dir, "train", recipe, labelled_dir)
    tune = build_risk_corpus(data_dir, "tune", recipe, labelled_dir)
    say(f"train examples {len(train)}, tune examples {len(tune)}")
    train_texts = [e.text for e in train]
    tune_texts = [e.text for e in tune]
    train_targets = label_matrix(train, labels)
    tune_targets = label_matrix(tune, labels)

    model, tokenizer = build_classifier(
        labels, train_texts, init=init, multi_label=True, max_length=max_length, architecture=architecture
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
    stats = fit(model, tokenizer, train_texts, train_targets, config, multi_label=True, progress=say)
    say(f"transformers model trained: {stats.steps} steps in {stats.seconds}s")
    bert_tune = sigmoid(predict_logits(model, tokenizer, tune_texts, max_length=max_length))
    # A transformer trained too briefly from scratch answers the label prior whatever the text;
    # its spread across the tune texts shows that at once.
    spread = float(bert_tune.std(axis=0).mean()) if len(tune_texts) > 1 else 0.0
    if spread < 0.02:
        say(f"warning: transformers outputs barely depend on the text (spread {spread:.4f}): train longer")

    variants: dict[str, tuple[dict[str, float], float]] = {
        "transformers": tune_thresholds(bert_tune, tune_targets, labels)
    }
    ngram: NgramClassifier | None = None
    best_weight = 0.0
    thresholds, best_f1 = variants["transformers"]
    tune_f1 = {"transformers": round(best_f1, 4)}
    if ensemble:
        ngram = NgramClassifier(labels).fit(train_texts, train_targets)
        ngram_tune = ngram.predict_proba(tune_texts)
        variants["ngram"] = tune_thresholds(ngram_tune, tune_targets, labels)
        tune_f1["ngram"] = round(variants["ngram"][1], 4)
        for weight in NGRAM_WEIGHTS[1:]:
            mixed = (1 - weight) * bert_tune + weight * ngram_tune
            candidate, f1 = tune_thresholds(mixed, tune_targets, labels)
            tune_f1[f"ensemble_{weight}"] = round(f1, 4)
            if f1 > best_f1:
                best_weight, thresholds, best_f1 = weight, candidate, f1
        say(f"tune macro-F1 by variant: {tune_f1}; n-gram weight kept: {best_weight}")

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    if ngram is not None and best_weight > 0:
        ngram.save(out_dir / NGRAM_SUBDIR)
    version = content_version("risk", out_dir)
    card = ModelCard(
        task="risk",
        backend="transformers",
        version=version,
        created_at=now_utc(),
        labels=labels,
        max_length=max_length,
        thresholds=thresholds,
        ngram_weight=best_weight,
        variant_thresholds={name: value[0] for name, value in variants.items()},
        init=str(init) if init else None,
        training={
            "train": corpus_summary(train),
            "tune": corpus_summary(tune),
            "steps": stats.steps,
            "seconds": stats.seconds,
            "stopped_by_time": stats.stopped_by_time,
            "final_loss": stats.final_loss,
            "batch_size": batch_size,
            "learning_rate": config.learning_rate,
            "seed": seed,
            "tune_macro_f1": tune_f1,
            "transformers_output_spread": round(spread, 4),
            "public_data": data_dir is not None and recipe.include_public,
        },
    )
    write_card(out_dir, card)
    return TrainResult(out_dir, version, stats.steps, stats.seconds, len(train), thresholds, best_weight, tune_f1)
