"""A trained sentiment model, when one is installed, scores the pipeline's sentiment in one call per
batch; without one the lexicon does, and the pipeline says which."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from nlp.model.datasets import SentimentExample
from nlp.model.sentiment import (
    SentimentScorer,
    fit_sentiment_model,
    load_default_sentiment_scorer,
    sentiment_model_dir,
)
from nlp.pipeline import NlpPipeline, SentimentModel
from patrol.config import load_settings
from tests.conftest import make_post

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


class CountingScorer:
    """Wraps the real scorer to count its calls."""

    def __init__(self, inner: SentimentScorer) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self.calls: list[int] = []

    def score(self, texts: Sequence[str]) -> list[float]:
        self.calls.append(len(texts))
        return self.inner.score(texts)

    def label(self, score: float) -> str:
        return self.inner.label(score)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sentiment") / "data"
    examples = [SentimentExample(t, True, "test") for t in POSITIVE] + [
        SentimentExample(t, False, "test") for t in NEGATIVE
    ]
    fit_sentiment_model(examples * 4, examples, sentiment_model_dir(load_settings(data_dir=root)), backend="ngram")
    return root


@pytest.fixture(scope="module")
def base() -> NlpPipeline:
    return NlpPipeline.from_settings(load_settings())


def with_sentiment(base: NlpPipeline, model: SentimentModel | None) -> NlpPipeline:
    """The module's pipeline components (already loaded) with a sentiment model."""
    return NlpPipeline(
        normalizer=base.normalizer,
        segmenter=base.segmenter,
        keywords=base.keywords,
        lexicon=base.lexicon,
        places=base.places,
        sentiment=base.sentiment,
        sentiment_scorer=model,
    )


def test_an_installed_model_scores_every_post_in_one_call(base: NlpPipeline, data_dir: Path) -> None:
    model = load_default_sentiment_scorer(load_settings(data_dir=data_dir))
    assert model is not None and isinstance(model, SentimentModel)
    counting = CountingScorer(model)
    pipeline = with_sentiment(base, counting)
    posts = [make_post(str(i), text) for i, text in enumerate(["很好吃，下次还点", "太难吃了，再也不买", "嗯"])]
    analyses = pipeline.analyse(posts)
    assert counting.calls == [3]
    expected = model.score([p.text for p in posts])
    assert [a.sentiment for a in analyses] == [round(s, 4) for s in expected]
    assert [a.sentiment_label for a in analyses] == [model.label(s) for s in expected]
    assert analyses[0].sentiment > analyses[1].sentiment
    assert pipeline.sentiment_name == f"{model.name}:{model.version}"


def test_without_a_model_the_lexicon_scores_sentiment(base: NlpPipeline, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "empty")
    assert load_default_sentiment_scorer(settings) is None
    pipeline = with_sentiment(base, load_default_sentiment_scorer(settings))
    analysis = pipeline.analyse_text("太难吃了，再也不买")
    assert pipeline.sentiment_name == "lexicon_sentiment"
    assert analysis.sentiment_label == "negative"


def test_a_model_that_breaks_the_contract_is_named(base: NlpPipeline, data_dir: Path) -> None:
    class Broken(CountingScorer):
        def score(self, texts: Sequence[str]) -> list[float]:
            return [2.0] * len(texts)

    model = load_default_sentiment_scorer(load_settings(data_dir=data_dir))
    assert model is not None
    pipeline = with_sentiment(base, Broken(model))
    with pytest.raises(ValueError, match=r"ngram_sentiment.*-1\.\.1"):
        pipeline.analyse_text("很好吃")
