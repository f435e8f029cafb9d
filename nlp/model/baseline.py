"""Character 1-3-gram TF-IDF + logistic regression: the baseline, and the n-gram half of the ensemble.

Saved as plain data (the n-gram vocabulary as JSON, idf and weights as ``.npz``), never as a pickle,
so loading a model folder cannot run code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from nlp.model.text import model_text

VOCAB_FILE = "ngram_vocab.json"
WEIGHTS_FILE = "ngram_weights.npz"


class NgramClassifier:
    """Independent binary logistic regressions (one per label) over shared char n-gram TF-IDF features."""

    def __init__(
        self,
        labels: Sequence[str],
        *,
        ngram_range: tuple[int, int] = (1, 3),
        max_features: int = 200_000,
        min_df: int = 2,
        c: float = 4.0,
    ) -> None:
        self.labels = list(labels)
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.min_df = min_df
        self.c = c
        self._vectorizer: CountVectorizer | None = None
        self._idf: np.ndarray | None = None
        self._coef: np.ndarray | None = None  # (labels, features)
        self._intercept: np.ndarray | None = None  # (labels,)

    def _counts_vectorizer(self, vocabulary: dict[str, int]) -> CountVectorizer:
        return CountVectorizer(
            analyzer="char",
            ngram_range=self.ngram_range,
            lowercase=True,
            vocabulary=vocabulary,
            dtype=np.float32,
        )

    def _features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if self._vectorizer is None or self._idf is None:
            raise RuntimeError("the n-gram model is not fitted: call fit() or NgramClassifier.load()")
        counts = self._vectorizer.transform([model_text(t) for t in texts]).tocsr()
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf, as TfidfVectorizer(sublinear_tf=True)
        weighted = counts @ sparse.diags(self._idf.astype(np.float32))
        return normalize(weighted, norm="l2", copy=False).tocsr()

    def fit(self, texts: Sequence[str], targets: np.ndarray) -> NgramClassifier:
        """``targets``: 0/1 matrix of shape (texts, labels)."""
        tfidf = TfidfVectorizer(
            analyzer="char",
            ngram_range=self.ngram_range,
            lowercase=True,
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        tfidf.fit([model_text(t) for t in texts])
        self._vectorizer = self._counts_vectorizer({term: int(i) for term, i in tfidf.vocabulary_.items()})
        self._idf = np.asarray(tfidf.idf_, dtype=np.float32)
        features = self._features(texts)
        coefs, intercepts = [], []
        for column in range(targets.shape[1]):
            y = targets[:, column]
            if y.min() == y.max():
                # A label with no positive example in this corpus (e.g. a tiny test sample): never fires.
                coefs.append(np.zeros(features.shape[1], dtype=np.float32))
                intercepts.append(-10.0 if y.max() == 0 else 10.0)
                continue
            # Balanced weights: a category with a few hundred rows among tens of thousands otherwise
            # gets probabilities far below 0.5 even for its own training posts.
            model = LogisticRegression(C=self.c, solver="liblinear", max_iter=200, class_weight="balanced")
            model.fit(features, y)
            coefs.append(model.coef_[0].astype(np.float32))
            intercepts.append(float(model.intercept_[0]))
        self._coef = np.vstack(coefs)
        self._intercept = np.asarray(intercepts, dtype=np.float32)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities of shape (texts, labels)."""
        if self._coef is None or self._intercept is None:
            raise RuntimeError("the n-gram model is not fitted: call fit() or NgramClassifier.load()")
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = self._features(texts) @ self._coef.T + self._intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float32)

    def save(self, out_dir: Path) -> None:
        if self._vectorizer is None or self._idf is None or self._coef is None or self._intercept is None:
            raise RuntimeError("nothing to save: the n-gram model is not fitted")
        out_dir.mkdir(parents=True, exist_ok=True)
        vocabulary = self._vectorizer.vocabulary
        assert isinstance(vocabulary, dict)
        terms = [""] * len(vocabulary)
        for term, index in vocabulary.items():
            terms[index] = term
        meta = {"labels": self.labels, "ngram_range": list(self.ngram_range), "c": self.c, "terms": terms}
        (out_dir / VOCAB_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez_compressed(out_dir / WEIGHTS_FILE, idf=self._idf, coef=self._coef, intercept=self._intercept)

    @classmethod
    def load(cls, model_dir: Path) -> NgramClassifier:
        vocab_path = model_dir / VOCAB_FILE
        if not vocab_path.is_file():
            raise FileNotFoundError(f"{vocab_path} not found: train the model first (patrol model train)")
        meta = json.loads(vocab_path.read_text(encoding="utf-8"))
        low, high = meta["ngram_range"]
        model = cls(meta["labels"], ngram_range=(int(low), int(high)), c=float(meta["c"]))
        model._vectorizer = model._counts_vectorizer({term: i for i, term in enumerate(meta["terms"])})
        with np.load(model_dir / WEIGHTS_FILE, allow_pickle=False) as weights:
            model._idf = weights["idf"]
            model._coef = weights["coef"]
            model._intercept = weights["intercept"]
        return model

    @staticmethod
    def is_saved(model_dir: Path) -> bool:
        return (model_dir / VOCAB_FILE).is_file() and (model_dir / WEIGHTS_FILE).is_file()
