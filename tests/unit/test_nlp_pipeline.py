"""The NLP stage end to end: every Analysis field, the risk-scorer combination, settings paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from nlp.pipeline import NlpPipeline
from nlp.scorers import DEFAULT_COMBINATION_FILE, RiskScorer
from patrol.config import Settings
from patrol.datafiles import ConfigFileError
from patrol.schema import RISK_CATEGORIES, Analysis
from tests.conftest import make_post

GAS_LEAK = "香坊区幸福家园小区燃气泄漏，味道很大，大家赶紧撤离！"
PUBLICITY = "反诈中心提醒：公检法机关不会通过电话办案，更不存在所谓的安全账户，凡是要求转账的都是诈骗"


class KeywordRiskScorer:
    """A small real scorer: fixed scores for texts containing a word, the way a model would answer."""

    name = "keyword_test_model"
    version = "t1"

    def __init__(self, scores_by_word: dict[str, dict[str, float]]) -> None:
        self.scores_by_word = scores_by_word
        self.calls: list[int] = []

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.calls.append(len(texts))
        results = []
        for text in texts:
            scores: dict[str, float] = {}
            for word, word_scores in self.scores_by_word.items():
                if word in text:
                    scores.update(word_scores)
            results.append(scores)
        return results


@pytest.fixture(scope="module")
def pipeline() -> NlpPipeline:
    return NlpPipeline.from_settings(Settings())


def with_model(base: NlpPipeline, model: RiskScorer, combination_file: Path = DEFAULT_COMBINATION_FILE) -> NlpPipeline:
    """The module's pipeline components (already loaded) with a risk scorer added."""
    return NlpPipeline(
        normalizer=base.normalizer,
        segmenter=base.segmenter,
        keywords=base.keywords,
        lexicon=base.lexicon,
        places=base.places,
        sentiment=base.sentiment,
        combination_file=combination_file,
        risk_scorer=model,
    )


def test_every_field_of_the_analysis_is_filled(pipeline: NlpPipeline) -> None:
    post = make_post("1", GAS_LEAK, jurisdiction_hint="xf-branch")
    [analysis] = pipeline.analyse([post])
    assert analysis.post_id == post.id
    assert analysis.normalized_text == "香坊区幸福家园小区燃气泄漏,味道很大,大家赶紧撤离!"
    assert "燃气泄漏" in analysis.tokens and "," not in analysis.tokens
    assert "燃气泄漏" in analysis.keywords
    assert set(analysis.risk_scores) == set(RISK_CATEGORIES)
    assert analysis.risk_scores["public_hazard"] >= 0.5
    assert {e.term for e in analysis.evidence} >= {"燃气", "泄漏"}
    assert [p.name for p in analysis.places] == ["香坊区", "幸福家园小区"]
    assert analysis.jurisdiction == "xf-dalian"
    assert analysis.sentiment_label in {"negative", "neutral", "positive"}
    assert analysis.simhash != 0
    assert analysis.scorer == pipeline.scorer_name == f"lexicon:{pipeline.lexicon.version}"
    assert Analysis.model_validate_json(analysis.model_dump_json()) == analysis


def test_posts_come_back_in_order_and_empty_text_is_fine(pipeline: NlpPipeline) -> None:
    posts = [make_post(str(i), text) for i, text in enumerate(["", GAS_LEAK, "今天天气不错"])]
    analyses = pipeline.analyse(posts)
    assert [a.post_id for a in analyses] == [p.id for p in posts]
    assert analyses[0].tokens == [] and analyses[0].simhash == 0
    assert max(analyses[2].risk_scores.values()) == 0.0


def test_query_tokens_match_the_indexed_tokens(pipeline: NlpPipeline) -> None:
    [analysis] = pipeline.analyse([make_post("1", GAS_LEAK)])
    query = pipeline.tokenize_query("幸福家园小区 燃气泄漏")
    assert {"幸福家园小区", "燃气泄漏"} <= set(query)
    assert set(pipeline.tokenize_query("幸福家园小区燃气泄漏")) <= set(analysis.tokens)
    # Search granularity: a word inside an indexed compound is found on its own.
    assert {"燃气", "泄漏"} <= set(analysis.tokens)
    assert pipeline.tokenize_query("燃气") == ["燃气"]


def test_a_model_is_called_once_per_batch_and_combined_with_the_lexicon(pipeline: NlpPipeline) -> None:
    model = KeywordRiskScorer({"转账": {"fraud": 0.9}, "撤离": {"public_hazard": 0.3}})
    pipeline = with_model(pipeline, model)
    posts = [
        make_post("1", "兄弟帮个忙，先给我转账三千，明天就还你"),
        make_post("2", GAS_LEAK),
        make_post("3", "今天天气不错"),
    ]
    fraud, gas, weather = pipeline.analyse(posts)
    assert model.calls == [3]
    assert pipeline.scorer_name == f"model:t1+lexicon:{pipeline.lexicon.version}"
    assert fraud.scorer == pipeline.scorer_name
    # combination.yaml: max of the two by default
    assert fraud.risk_scores["fraud"] == 0.9
    [model_evidence] = [e for e in fraud.evidence if e.signal == "model"]
    assert model_evidence.category == "fraud" and model_evidence.rule == "keyword_test_model"
    assert (model_evidence.start, model_evidence.end, model_evidence.term) == (0, len(posts[0].text), "")
    assert model_evidence.weight == 0.9
    assert gas.risk_scores["public_hazard"] == 0.8  # the lexicon's 0.8 beats the model's 0.3
    assert not [e for e in gas.evidence if e.signal == "model"]  # 0.3 is under the evidence threshold
    assert max(weather.risk_scores.values()) == 0.0


def test_contexts_damp_the_model_too(pipeline: NlpPipeline) -> None:
    model = KeywordRiskScorer({"安全账户": {"fraud": 0.95}})
    pipeline = with_model(pipeline, model)
    [analysis] = pipeline.analyse([make_post("1", PUBLICITY)])
    assert "anti_fraud_publicity" in analysis.contexts
    assert analysis.risk_scores["fraud"] < 0.5


def test_weighted_combination_from_the_combination_file(pipeline: NlpPipeline, tmp_path: Path) -> None:
    path = tmp_path / "combination.yaml"
    path.write_text("method: weighted\nweights: {model: 0.5, lexicon: 0.5}\n", encoding="utf-8")
    pipeline = with_model(pipeline, KeywordRiskScorer({"撤离": {"public_hazard": 0.4}}), path)
    [analysis] = pipeline.analyse([make_post("1", GAS_LEAK)])
    assert analysis.risk_scores["public_hazard"] == pytest.approx(0.5 * 0.4 + 0.5 * 0.8)


def test_combination_weights_must_add_up(pipeline: NlpPipeline, tmp_path: Path) -> None:
    path = tmp_path / "combination.yaml"
    path.write_text("method: weighted\nweights: {model: 0.9, lexicon: 0.9}\n", encoding="utf-8")
    pipeline = with_model(pipeline, KeywordRiskScorer({}), path)
    with pytest.raises(ConfigFileError, match="must add up to 1"):
        pipeline.analyse([make_post("1", GAS_LEAK)])


def test_a_scorer_that_breaks_the_contract_is_reported(pipeline: NlpPipeline) -> None:
    class ShortScorer(KeywordRiskScorer):
        def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
            return []

    class LogitScorer(KeywordRiskScorer):
        def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
            return [{"fraud": 3.2} for _ in texts]

    posts = [make_post("1", GAS_LEAK)]
    with pytest.raises(ValueError, match="returned 0 results for 1 texts"):
        with_model(pipeline, ShortScorer({})).analyse(posts)
    with pytest.raises(ValueError, match=r"returned 3.2 for fraud.*\[0, 1\]"):
        with_model(pipeline, LogitScorer({})).analyse(posts)


def test_the_scorer_protocol_is_structural() -> None:
    assert isinstance(KeywordRiskScorer({}), RiskScorer)


def test_settings_paths_are_used(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        'version: "custom-7"\ngroups:\n  a: {terms: [测试危险词]}\n'
        "rules:\n  - {id: weapons.custom, category: weapons, groups: [a], weight: 0.7}\n",
        encoding="utf-8",
    )
    user_dict = tmp_path / "userdict.txt"
    user_dict.write_text("测试危险词\n", encoding="utf-8")
    pipeline = NlpPipeline.from_settings(Settings(lexicon_file=lexicon, user_dict_file=user_dict))
    [analysis] = pipeline.analyse([make_post("1", "这里有测试危险词")])
    assert analysis.scorer == "lexicon:custom-7"
    assert analysis.risk_scores["weapons"] == 0.7
    assert "测试危险词" in analysis.tokens
