"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from patrol.schema import AnalysedPost, Analysis, Evidence, Post

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()

# Airflow reads its home at import time; keep its SQLite metadata DB out of the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", str(REPO_ROOT / "data" / "test-airflow-home"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data absent ({SHARED_DATA}): the real third-party pages and labelled text live there")
    return SHARED_DATA


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data dir, also exported as PATROL_DATA_DIR for code that reads settings from the env."""
    path = tmp_path / "data"
    monkeypatch.setenv("PATROL_DATA_DIR", str(path))
    yield path


BASE_TIME = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)


def make_post(native_id: str, text: str, *, source_id: str = "test-forum", minutes: int = 0, **fields: object) -> Post:
    values: dict[str, object] = {
        "id": f"{source_id}:{native_id}",
        "source_id": source_id,
        "native_id": native_id,
        "kind": "forum_post",
        "url": f"http://forum.test/t/{native_id}",
        "text": text,
        "published_at": BASE_TIME + timedelta(minutes=minutes),
        "fetched_at": BASE_TIME + timedelta(hours=1),
    }
    values.update(fields)
    return Post.model_validate(values)


def make_analysed(
    native_id: str,
    text: str,
    tokens: list[str],
    *,
    scores: dict[str, float] | None = None,
    simhash: int = 0,
    jurisdiction: str | None = None,
    **post_fields: object,
) -> AnalysedPost:
    post = make_post(native_id, text, **post_fields)
    scores = scores or {}
    evidence = [
        Evidence(category=c, signal="lexicon", rule=f"{c}.test", term=tokens[0], start=0, end=len(tokens[0]))
        for c, s in scores.items()
        if s >= 0.5
    ]
    analysis = Analysis(
        post_id=post.id,
        normalized_text=text,
        tokens=tokens,
        keywords=[t for t in tokens if len(t) > 1][:5],
        risk_scores=scores,
        evidence=evidence,
        jurisdiction=jurisdiction,
        simhash=simhash,
        scorer="lexicon:test",
    )
    return AnalysedPost(post=post, analysis=analysis)
