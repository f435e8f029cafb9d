"""TF-IDF keywords and the lexicon sentiment."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.keywords import KeywordExtractor, read_word_list
from nlp.normalize import normalize
from nlp.pipeline import index_words
from nlp.segment import RjiebaSegmenter
from nlp.sentiment import LexiconSentiment
from patrol.datafiles import ConfigFileError


@pytest.fixture(scope="module")
def segmenter() -> RjiebaSegmenter:
    return RjiebaSegmenter()


def words_of(segmenter: RjiebaSegmenter, text: str) -> list[str]:
    return index_words(segmenter.tokenize(normalize(text).text))


def test_keywords_are_distinctive_words_not_noise(segmenter: RjiebaSegmenter) -> None:
    extractor = KeywordExtractor()
    words = words_of(
        segmenter, "香坊区幸福家园小区燃气泄漏了，我们大家赶紧撤离，这个味道真的很大，http://t.cn/abc 微信abc12345"
    )
    assert "abc12345" in words
    keywords = extractor.extract(words)
    assert keywords[:3] == ["香坊区", "幸福家园小区", "燃气泄漏"]
    assert all(len(k) >= 2 for k in keywords)
    assert not {"我们", "大家", "这个", "真的", "http", "abc12345"} & set(keywords)
    assert extractor.extract(words, top_k=2) == keywords[:2]


def test_keywords_of_noise_are_empty(segmenter: RjiebaSegmenter) -> None:
    assert KeywordExtractor().extract(words_of(segmenter, "哈哈哈，。！123 456 我 你 他")) == []


def test_a_repeated_word_ranks_higher(segmenter: RjiebaSegmenter) -> None:
    words = words_of(segmenter, "停电了，又停电了，小区停电第三天，电梯也停了")
    assert KeywordExtractor().extract(words)[0] == "停电"


def test_stop_word_file_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="not found"):
        read_word_list(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("送餐很快，味道非常好，服务态度也热情，满意", "positive"),
        ("太难吃了，送得又慢，非常失望，差评", "negative"),
        ("不好吃，也不新鲜", "negative"),
        ("今天下午三点开会", "neutral"),
    ],
)
def test_sentiment_labels(segmenter: RjiebaSegmenter, text: str, label: str) -> None:
    result = LexiconSentiment().score(words_of(segmenter, text))
    assert result.label == label
    assert -1.0 <= result.score <= 1.0


def test_negation_flips_and_intensifiers_strengthen(segmenter: RjiebaSegmenter) -> None:
    sentiment = LexiconSentiment()
    plain = sentiment.score(words_of(segmenter, "满意")).score
    strong = sentiment.score(words_of(segmenter, "非常满意")).score
    negated = sentiment.score(words_of(segmenter, "不满意")).score
    assert strong > plain > 0 > negated
