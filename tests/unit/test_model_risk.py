"""Train a tiny risk model on the in-repo labelled posts, save it, load it and score with it."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nlp.model.architecture import SmallBert
from nlp.model.card import CARD_FILE, content_version, read_card
from nlp.model.scorer import TransformersRiskScorer, load_default_risk_scorer
from nlp.model.train import TrainResult, train_risk_model
from nlp.scorers import RiskScorer
from patrol.config import load_settings
from patrol.schema import RISK_CATEGORIES

TINY = SmallBert(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
TEXTS = [
    "出仿真枪，成色新，加V看头像",
    "今晚就从桥上跳下去，再见了",
    "南岗区学府路那边居民楼着火了，烟特别大",
    "今天的锅包肉很好吃",
    "",
    "长" * 400,
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("risk")
    return train_risk_model(None, out, max_steps=12, batch_size=16, threads=1, architecture=TINY, max_length=64)


def test_saved_folder_holds_model_tokenizer_and_card(trained: TrainResult) -> None:
    folder = trained.out_dir
    assert (folder / "config.json").is_file() and (folder / "tokenizer_config.json").is_file()
    assert list(folder.glob("*.safetensors"))
    card = read_card(folder)
    assert card.task == "risk" and card.labels == list(RISK_CATEGORIES)
    assert card.version == trained.version == content_version("risk", folder)
    assert set(card.thresholds) == set(RISK_CATEGORIES)
    assert all(0.0 < value < 1.0 for value in card.thresholds.values())
    assert card.training["steps"] == 12
    assert card.training["train"]["by_label"]["self_harm"] > 0
    assert json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))["version"] == trained.version


def test_scores_have_one_probability_per_category(trained: TrainResult) -> None:
    scorer = TransformersRiskScorer.from_pretrained(trained.out_dir)
    assert isinstance(scorer, RiskScorer)
    assert scorer.version == trained.version and scorer.name
    scores = scorer.score(TEXTS)
    assert len(scores) == len(TEXTS)
    for row in scores:
        assert list(row) == list(RISK_CATEGORIES)
        assert all(0.0 <= value <= 1.0 for value in row.values())
    assert scorer.score([]) == []


def test_batched_scores_equal_one_by_one_scores(trained: TrainResult) -> None:
    scorer = TransformersRiskScorer.from_pretrained(trained.out_dir, batch_size=4)
    batched = scorer.probabilities(TEXTS)
    single = np.vstack([scorer.probabilities([text]) for text in TEXTS])
    assert np.allclose(batched, single, atol=1e-5)


def test_each_component_can_be_scored_alone(trained: TrainResult) -> None:
    transformers_only = TransformersRiskScorer.from_pretrained(trained.out_dir, variant="transformers")
    assert transformers_only.probabilities(TEXTS).shape == (len(TEXTS), len(RISK_CATEGORIES))
    ngram_only = TransformersRiskScorer.from_pretrained(trained.out_dir, variant="ngram")
    if trained.ngram_weight == 0:
        pytest.skip("the n-gram component was not kept for this model")
    top = ngram_only.probabilities(["出仿真枪，成色新，加V看头像"])[0]
    assert RISK_CATEGORIES[int(np.argmax(top))] == "weapons"


def test_default_scorer_is_none_without_a_model(tmp_path: Path, trained: TrainResult) -> None:
    assert load_default_risk_scorer(load_settings(data_dir=tmp_path)) is None
    scorer = load_default_risk_scorer(load_settings(data_dir=tmp_path, model_dir=trained.out_dir))
    assert scorer is not None and scorer.version == trained.version


def test_a_folder_without_a_model_fails_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="patrol model train"):
        TransformersRiskScorer.from_pretrained(tmp_path)
