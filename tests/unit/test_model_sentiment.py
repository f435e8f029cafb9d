from pathlib import Path

import pytest
import torch

from nlp.model.architecture import SmallBert
from nlp.model.datasets import SentimentExample
from nlp.model.sentiment import SentimentScorer, fit_sentiment_model, load_default_sentiment_scorer
from patrol.config import load_settings

POSITIVE = [
    "很好吃，送得也快",
    "味道不错，下次还点",
    "质量很好，推荐购买",
    "服务态度好，很满意",
    "非常好用，物超所值",
]
NEGATIVE = [
    "太难吃了，还送错了",
    "等了两个小时，菜都凉了",
    "质量太差，用了一天就坏",
    "态度恶劣，再也不买",
    "非常失望，退货",
]
EXAMPLES = [SentimentExample(t, True, "test") for t in POSITIVE] + [
    SentimentExample(t, False, "test") for t in NEGATIVE
]


@pytest.mark.parametrize("backend", ["ngram", "transformers"])
def test_trained_sentiment_scores_lie_in_minus_one_to_one(tmp_path: Path, backend: str) -> None:
    torch.set_num_threads(1)
    result = fit_sentiment_model(
        EXAMPLES * 4,
        EXAMPLES,
        tmp_path,
        backend=backend,  # type: ignore[arg-type]
        max_steps=5,
        batch_size=8,
        threads=1,
        max_length=32,
        architecture=SmallBert(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64),
    )
    scorer = SentimentScorer.from_pretrained(tmp_path)
    assert scorer.version == result.version and scorer.name.startswith(backend)
    scores = scorer.score(["很好吃", "太难吃了", ""])
    assert len(scores) == 3 and all(-1.0 <= s <= 1.0 for s in scores)
    assert scorer.label(scores[0]) in {"positive", "neutral", "negative"}
    assert scorer.score([]) == []
    if backend == "ngram":
        assert scores[0] > scores[1]


def test_default_sentiment_scorer_is_none_without_a_model(tmp_path: Path) -> None:
    assert load_default_sentiment_scorer(load_settings(data_dir=tmp_path)) is None
