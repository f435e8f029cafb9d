"""Per-category flag thresholds, read from a data file users edit."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from patrol.datafiles import load_yaml_model
from patrol.schema import RISK_CATEGORIES


class Thresholds(BaseModel):
    version: int = 1
    default: float = Field(0.5, ge=0.0, le=1.0)
    categories: dict[str, float] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(RISK_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; use one of {list(RISK_CATEGORIES)}")
        for category, threshold in value.items():
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"threshold for {category} must be between 0 and 1")
        return value

    def for_category(self, category: str) -> float:
        return self.categories.get(category, self.default)

    def flagged(self, scores: Mapping[str, float]) -> list[str]:
        """The categories whose score reaches their threshold, highest score first."""
        hits = [c for c, s in scores.items() if s > 0 and s >= self.for_category(c)]
        return sorted(hits, key=lambda c: -scores[c])


def load_thresholds(path: Path) -> Thresholds:
    return load_yaml_model(path, Thresholds)
