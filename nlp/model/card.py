"""``patrol_model.json``: what a saved model is, how it was trained and how to read its scores."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

CARD_FILE = "patrol_model.json"


class ModelCard(BaseModel):
    model_config = {"protected_namespaces": ()}

    task: Literal["risk", "sentiment"]
    backend: Literal["transformers", "ngram"]
    version: str = Field(description="task + content hash of the saved weights: changes whenever they do")
    created_at: AwareDatetime
    labels: list[str]
    max_length: int = 128
    thresholds: dict[str, float] = Field(default_factory=dict, description="per label, chosen on the tune split")
    ngram_weight: float = Field(
        default=0.0, description="share of the n-gram model in the ensemble (0: transformers only)"
    )
    variant_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="thresholds for each component used alone (transformers, ngram)"
    )
    neutral_band: float = Field(default=0.2, description="sentiment: |score| at or below this is neutral")
    init: str | None = Field(None, description="checkpoint the transformers model started from; None: scratch")
    training: dict[str, Any] = Field(default_factory=dict, description="data summary, steps, time, tune metrics")


def content_version(task: str, model_dir: Path) -> str:
    """``<task>-<12 hex>``: a hash of every weight and vocabulary file in the folder."""
    digest = hashlib.sha256()
    for path in sorted(model_dir.rglob("*")):
        if path.is_file() and path.name != CARD_FILE:
            digest.update(path.relative_to(model_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{task}-{digest.hexdigest()[:12]}"


def write_card(model_dir: Path, card: ModelCard) -> None:
    (model_dir / CARD_FILE).write_text(card.model_dump_json(indent=2), encoding="utf-8")


def has_card(model_dir: Path) -> bool:
    return (model_dir / CARD_FILE).is_file()


def read_card(model_dir: Path) -> ModelCard:
    path = model_dir / CARD_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no trained model in {model_dir} ({CARD_FILE} missing): run `patrol model train` first"
        )
    return ModelCard.model_validate_json(path.read_text(encoding="utf-8"))


def now_utc() -> datetime:
    return datetime.now(UTC)
