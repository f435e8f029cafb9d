"""Training and evaluation data for the risk and sentiment models.

Public sets live under ``../shared/data/text`` (never copied into the repository); the project's own
labelled posts live in ``nlp/resources/labelled``. Every file is cut into the same three splits by a
hash of the text, so a split never changes between runs and a text never sits in two of them:

- ``train``: what the models learn from;
- ``tune``: carved from the training files, used to choose thresholds and ensemble weights;
- ``dev``: held out for reporting (COLD's own dev file, and hash slices of the sets that have none).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nlp.model.text import model_text
from patrol.schema import RISK_CATEGORIES

Split = Literal["train", "tune", "dev"]
SPLITS: tuple[Split, ...] = ("train", "tune", "dev")
NONE_LABEL = "none"
RISK_LABELS: tuple[str, ...] = RISK_CATEGORIES
LABELLED_DIR = Path(__file__).resolve().parents[1] / "resources" / "labelled"

# Percent buckets [0, train) -> train, [train, tune) -> tune, the rest -> dev.
_COLD_TRAIN_FILE_BUCKETS = (90, 100)  # COLD has its own dev file: only train/tune come from train.csv
_FRAUD_BUCKETS = (70, 80)
_REVIEW_BUCKETS = (70, 80)
_TNEWS_BUCKETS = (50, 60)
_LABELLED_BUCKETS = (70, 85)


@dataclass(frozen=True)
class Example:
    """One training or evaluation text with its risk labels (empty: no risk) and where it came from."""

    text: str
    labels: frozenset[str]
    source: str

    @property
    def gold_label(self) -> str:
        """The single label an evaluation row carries: its category, or ``none``."""
        return min(self.labels) if self.labels else NONE_LABEL


@dataclass(frozen=True)
class SentimentExample:
    text: str
    positive: bool
    source: str


class DataMissingError(FileNotFoundError):
    """A data file the caller asked for is absent; the message says where it was looked for."""


def hash_bucket(text: str) -> int:
    """A stable percent bucket (0-99) of a text: the same text always falls in the same split."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:4], "big") % 100


def split_of(text: str, buckets: tuple[int, int]) -> Split:
    bucket = hash_bucket(text)
    if bucket < buckets[0]:
        return "train"
    if bucket < buckets[1]:
        return "tune"
    return "dev"


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataMissingError(
            f"{path} not found: pass --data-dir pointing at the shared data folder (../shared/data), "
            "or train on the in-repo labelled posts only"
        )
    return path


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    with _require(path).open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def _keep(text: str | None) -> str | None:
    cleaned = model_text(text or "")
    return cleaned or None


def load_cold(data_dir: Path, split: Split) -> list[Example]:
    """COLD: offensive comments -> ``cyber_violence``, safe comments -> no label."""
    folder = data_dir / "text" / "cold"
    rows: Iterable[dict[str, str]]
    if split == "dev":
        rows = _read_csv(folder / "dev.csv")
    else:
        rows = (
            row
            for row in _read_csv(folder / "train.csv")
            if split_of(row["TEXT"] or "", _COLD_TRAIN_FILE_BUCKETS) == split
        )
    out = []
    for row in rows:
        text = _keep(row["TEXT"])
        if text:
            labels = frozenset({"cyber_violence"}) if row["label"].strip() == "1" else frozenset()
            out.append(Example(text, labels, "cold"))
    return out


def load_fraud(data_dir: Path, split: Split) -> list[Example]:
    """The telecom fraud texts: any non-``0`` label -> ``fraud``; ``0`` (ordinary SMS and ads) -> none."""
    out = []
    for row in _read_csv(data_dir / "text" / "fraud" / "fraud_train.csv"):
        text = _keep(row["content"])
        if text and split_of(row["content"], _FRAUD_BUCKETS) == split:
            labels = frozenset() if row["label"].strip() == "0" else frozenset({"fraud"})
            out.append(Example(text, labels, "fraud"))
    return out


def _review_rows(data_dir: Path) -> Iterator[tuple[str, str, str]]:
    folder = data_dir / "text" / "sentiment"
    for row in _read_csv(folder / "waimai_10k.csv"):
        yield row["review"], row["label"], "waimai"
    for row in _read_csv(folder / "online_shopping_10_cats.csv"):
        yield row["review"], row["label"], "shopping"


def _sample(items: list[tuple[str, ...]], limit: int | None) -> list[tuple[str, ...]]:
    """A deterministic sample: the ``limit`` items with the smallest text hash (no RNG state to keep)."""
    if limit is None or len(items) <= limit:
        return items
    return sorted(items, key=lambda item: hashlib.sha1(item[0].encode("utf-8")).digest())[:limit]


def load_sentiment(data_dir: Path, split: Split, limit: int | None = None) -> list[SentimentExample]:
    """Waimai and online-shopping reviews with their positive/negative labels."""
    rows: list[tuple[str, ...]] = []
    for raw, label, source in _review_rows(data_dir):
        text = _keep(raw)
        if text and split_of(raw or "", _REVIEW_BUCKETS) == split and label.strip() in {"0", "1"}:
            rows.append((text, label.strip(), source))
    return [SentimentExample(text, label == "1", source) for text, label, source in _sample(rows, limit)]


def load_reviews(data_dir: Path, split: Split, limit: int | None = None) -> list[Example]:
    """Ordinary product and delivery reviews: nothing in them is a public-safety risk."""
    return [Example(row.text, frozenset(), f"reviews_{row.source}") for row in load_sentiment(data_dir, split, limit)]


def load_tnews(data_dir: Path, split: Split, limit: int | None = None) -> list[Example]:
    """TNEWS news headlines (all topics) as negatives: news about crime or accidents is not itself a risk."""
    rows: list[tuple[str, ...]] = []
    with _require(data_dir / "text" / "tnews" / "dev.json").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            raw = json.loads(line).get("sentence", "")
            text = _keep(raw)
            if text and split_of(raw, _TNEWS_BUCKETS) == split:
                rows.append((text,))
    return [Example(text, frozenset(), "tnews") for (text,) in _sample(rows, limit)]


def read_labelled_csv(path: Path, allowed: Iterable[str] = (*RISK_LABELS, NONE_LABEL)) -> list[tuple[str, str]]:
    """Rows of a ``text,label`` CSV, checked: the error names the file, line and bad label."""
    allowed_set = set(allowed)
    rows = []
    with _require(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected a header with columns text,label, got {reader.fieldnames}")
        for line_no, row in enumerate(reader, start=2):
            label = (row["label"] or "").strip()
            if label not in allowed_set:
                raise ValueError(
                    f"{path}, line {line_no}: label {label!r} is not one of {', '.join(sorted(allowed_set))}"
                )
            text = _keep(row["text"])
            if text:
                rows.append((text, label))
    return rows


def load_labelled(split: Split, labelled_dir: Path = LABELLED_DIR) -> list[Example]:
    """The project's own posts for the categories no public set covers, plus hard negatives."""
    files = sorted(labelled_dir.glob("*.csv"))
    if not files:
        raise DataMissingError(f"no labelled CSV files in {labelled_dir}")
    out = []
    for path in files:
        for text, label in read_labelled_csv(path):
            if split_of(text, _LABELLED_BUCKETS) == split:
                labels = frozenset() if label == NONE_LABEL else frozenset({label})
                out.append(Example(text, labels, f"labelled_{path.stem}"))
    return out


@dataclass(frozen=True)
class CorpusRecipe:
    """How much of each source goes into a risk training corpus."""

    review_limit: int | None = 10_000
    eval_review_limit: int | None = 3_000
    tnews_limit: int | None = None
    labelled_repeat: int = 6
    include_public: bool = True


def build_risk_corpus(
    data_dir: Path | None,
    split: Split,
    recipe: CorpusRecipe = CorpusRecipe(),
    labelled_dir: Path = LABELLED_DIR,
) -> list[Example]:
    """All risk examples of one split. Without ``data_dir`` only the in-repo labelled posts are used.

    The own labelled posts are repeated in the train split (only there) so that the categories they
    alone cover are not drowned by tens of thousands of public rows.
    """
    labelled = load_labelled(split, labelled_dir)
    examples = labelled * recipe.labelled_repeat if split == "train" else list(labelled)
    if data_dir is not None and recipe.include_public:
        review_limit = recipe.review_limit if split == "train" else recipe.eval_review_limit
        examples += load_cold(data_dir, split)
        examples += load_fraud(data_dir, split)
        examples += load_reviews(data_dir, split, review_limit)
        examples += load_tnews(data_dir, split, recipe.tnews_limit)
    return examples


def corpus_summary(examples: Iterable[Example]) -> dict[str, dict[str, int]]:
    """Counts per source and per label: what a trained model saw, written into its card."""
    by_source: dict[str, int] = {}
    by_label: dict[str, int] = {}
    for example in examples:
        by_source[example.source] = by_source.get(example.source, 0) + 1
        for label in example.labels or {NONE_LABEL}:
            by_label[label] = by_label.get(label, 0) + 1
    return {"by_source": dict(sorted(by_source.items())), "by_label": dict(sorted(by_label.items()))}
