"""Segmentation with the project's user words, through rjieba and (for comparison) jieba."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.normalize import normalize
from nlp.places import PlaceTagger
from nlp.segment import DEFAULT_USER_DICT, JiebaSegmenter, RjiebaSegmenter, read_user_dict
from patrol.datafiles import ConfigFileError

SENTENCES_AND_WORDS = [
    ("请把钱转到安全账户配合调查", "安全账户"),
    ("在家刷单日结", "刷单"),
    ("出仿真枪，要的私聊", "仿真枪"),
    ("出气狗和钢珠枪", "气狗"),
    ("有人卖冰毒吗", "冰毒"),
    ("周末一起溜冰", "溜冰"),
    ("家里燃气泄漏了", "燃气泄漏"),
    ("香坊区幸福家园小区停水了", "幸福家园小区"),
    ("我在哈工大上学", "哈工大"),
]


@pytest.fixture(scope="module")
def rjieba_segmenter() -> RjiebaSegmenter:
    return RjiebaSegmenter()


@pytest.fixture(scope="module")
def jieba_segmenter() -> JiebaSegmenter:
    return JiebaSegmenter()


@pytest.mark.parametrize(("sentence", "word"), SENTENCES_AND_WORDS)
def test_user_words_are_cut_whole(rjieba_segmenter: RjiebaSegmenter, sentence: str, word: str) -> None:
    assert word in rjieba_segmenter.cut(sentence)


@pytest.mark.parametrize(("sentence", "word"), SENTENCES_AND_WORDS)
def test_jieba_segmenter_has_the_same_user_words(jieba_segmenter: JiebaSegmenter, sentence: str, word: str) -> None:
    assert word in jieba_segmenter.cut(sentence)


def test_short_place_names_do_not_break_ordinary_words(rjieba_segmenter: RjiebaSegmenter) -> None:
    assert rjieba_segmenter.cut("我们去道里玩") == ["我们", "去", "道里", "玩"]
    assert rjieba_segmenter.cut("我知道里面有人") == ["我", "知道", "里面", "有人"]


def test_token_offsets_slice_the_text(rjieba_segmenter: RjiebaSegmenter, jieba_segmenter: JiebaSegmenter) -> None:
    text = normalize("香坊区幸福家园小区燃气泄漏，Ｖ信 abc123 联系！").text
    for segmenter in (rjieba_segmenter, jieba_segmenter):
        tokens = segmenter.tokenize(text)
        assert "".join(word for word, _, _ in tokens) == text
        for word, start, end in tokens:
            assert text[start:end] == word


def test_extra_words_are_added_when_the_dictionary_is_built() -> None:
    calls: list[int] = []

    def words() -> list[str]:
        calls.append(1)
        return ["松北冰雪新区"]

    segmenter = RjiebaSegmenter(extra_words=words)
    assert calls == []  # nothing is loaded before the first use
    assert "松北冰雪新区" in segmenter.cut("我住在松北冰雪新区")
    segmenter.cut("再来一次")
    assert calls == [1]


def test_user_dictionary_lists_every_gazetteer_name_and_alias() -> None:
    user_words = {entry.word for entry in read_user_dict(DEFAULT_USER_DICT)}
    missing = [name for name in PlaceTagger().surface_forms() if name not in user_words]
    assert missing == []


def test_user_dictionary_format_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "userdict.txt"
    path.write_text("# comment\n安全账户 n\n刷单 many n\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"userdict\.txt, line 3: the frequency 'many'"):
        read_user_dict(path)
    path.write_text("气狗 10 n\n冰毒\n溜冰 v\n", encoding="utf-8")
    entries = read_user_dict(path)
    assert [(e.word, e.freq, e.tag) for e in entries] == [("气狗", 10, "n"), ("冰毒", None, None), ("溜冰", None, "v")]
    with pytest.raises(ConfigFileError, match="not found"):
        read_user_dict(tmp_path / "missing.txt")
