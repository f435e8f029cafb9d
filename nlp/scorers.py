"""The risk-scorer interface a trained model implements, and how its scores meet the lexicon's.

A model (see `nlp/model/`) only has to provide `name`, `version` and a batched `score`; the
pipeline calls `score` once per `analyse` batch with the posts' original texts (a model applies
its own training-time normalisation) and combines each
category with the lexicon score as `resources/combination.yaml` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, cast, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from patrol.schema import RISK_CATEGORIES, RiskCategory

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_COMBINATION_FILE = RESOURCES_DIR / "combination.yaml"


@runtime_checkable
class RiskScorer(Protocol):
    """Scores texts per risk category; categories it does not know may be left out (read as 0)."""

    name: str
    version: str

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


class CombinationWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: float = Field(0.6, ge=0, le=1)
    lexicon: float = Field(0.4, ge=0, le=1)


class CategoryCombination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["max", "weighted"] | None = None
    weights: CombinationWeights | None = None


class CombinationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    method: Literal["max", "weighted"] = "max"
    weights: CombinationWeights = Field(default_factory=CombinationWeights)
    damp_model_with_contexts: bool = True
    evidence_threshold: float = Field(0.5, ge=0, le=1)
    categories: dict[RiskCategory, CategoryCombination] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _weights_sum(self) -> CombinationFile:
        for where, weights in [("weights", self.weights)] + [
            (f"categories.{c}.weights", o.weights) for c, o in self.categories.items() if o.weights
        ]:
            if abs(weights.model + weights.lexicon - 1.0) > 1e-6:
                raise ValueError(f"{where}: model + lexicon must add up to 1 so scores stay in [0, 1]")
        return self

    def combine(self, category: str, model_score: float, lexicon_score: float) -> float:
        override = cast(dict[str, CategoryCombination], self.categories).get(category)
        method = (override.method if override else None) or self.method
        weights = (override.weights if override else None) or self.weights
        if method == "max":
            combined = max(model_score, lexicon_score)
        else:
            combined = weights.model * model_score + weights.lexicon * lexicon_score
        return round(min(1.0, max(0.0, combined)), 4)


def clean_model_scores(raw: dict[str, float], scorer_name: str) -> dict[str, float]:
    """A model's scores for the known categories, each checked to be a number in [0, 1]."""
    scores: dict[str, float] = {}
    for category in RISK_CATEGORIES:
        value = float(raw.get(category, 0.0))
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"risk scorer {scorer_name!r} returned {value} for {category}; scores must be in [0, 1] "
                "(apply a sigmoid or softmax in the scorer)"
            )
        scores[category] = value
    return scores
