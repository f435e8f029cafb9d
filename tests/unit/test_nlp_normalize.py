"""Normalisation: folding, obfuscation, and the offset map back to the original text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.normalize import Normalizer, normalize
from patrol.datafiles import ConfigFileError


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def span_of(normalized_text: str, term: str) -> tuple[int, int]:
    start = normalized_text.index(term)
    return start, start + len(term)


def test_full_width_and_latin_case_are_folded_in_place(normalizer: Normalizer) -> None:
    result = normalizer("ＡＢＣ１２３，ＱＱ群")
    assert result.text == "abc123,qq群"
    # Nothing changed length, so offsets are the identity.
    assert result.to_original(3, 6) == (3, 6)


def test_traditional_becomes_simplified_with_phrase_awareness(normalizer: Normalizer) -> None:
    assert normalizer("頭髮乾了，後面有人").text == "头发干了,后面有人"
    # 著 is also a simplified character: a simplified text keeps it.
    assert normalizer("著名的哈尔滨冰雪大世界").text == "著名的哈尔滨冰雪大世界"


def test_zero_width_and_bidi_controls_are_removed_and_offsets_skip_them(normalizer: Normalizer) -> None:
    original = "出\u200b仿\u202e真\ufeff枪"
    result = normalizer(original)
    assert result.text == "出仿真枪"
    start, end = span_of(result.text, "仿真枪")
    assert result.original_slice(start, end) == "仿\u202e真\ufeff枪"


@pytest.mark.parametrize("original", ["枪 支", "枪-支", "枪*支", "枪🔫支", "枪 . 支", "枪_支", "枪\u3000支"])
def test_separators_between_chinese_characters_are_removed(normalizer: Normalizer, original: str) -> None:
    result = normalizer(f"出售{original}弹药")
    assert "枪支" in result.text
    start, end = span_of(result.text, "枪支")
    assert result.original_slice(start, end) == original


def test_spaces_outside_chinese_words_are_kept_but_collapsed(normalizer: Normalizer) -> None:
    assert normalizer("  hello    world  ").text == "hello world"
    assert normalizer("第一行\n\n\n第二行").text == "第一行\n第二行"
    assert normalizer("3 - 5 号").text == "3 - 5 号"


def test_obfuscated_contact_words_become_the_plain_word(normalizer: Normalizer) -> None:
    for original, expected in [
        ("加V信详聊", "加微信详聊"),
        ("威信号abc123456", "微信号abc123456"),
        ("私聊vx", "私聊微信"),
        ("薇信联系", "微信联系"),
        ("加薇详聊", "加微信详聊"),
        ("扣扣：12345678", "qq:12345678"),
    ]:
        assert normalizer(original).text == expected, original


def test_spellings_that_are_also_ordinary_words_stay_without_context(normalizer: Normalizer) -> None:
    assert normalizer("他在单位很有威信").text == "他在单位很有威信"
    assert normalizer("把扣扣子系好").text == "把扣扣子系好"
    assert normalizer("vxlan网络配置").text == "vxlan网络配置"


def test_pinyin_risk_words_only_in_risk_context(normalizer: Normalizer) -> None:
    assert normalizer("出qiang支，私聊").text == "出枪支,私聊"
    assert normalizer("他的名字叫qiang").text == "他的名字叫qiang"


def test_a_replaced_word_maps_back_to_the_obfuscated_spelling(normalizer: Normalizer) -> None:
    original = "要的加Ｖ信：abc 出 仿 真 枪"
    result = normalizer(original)
    assert result.text == "要的加微信:abc 出仿真枪"
    start, end = span_of(result.text, "微信")
    assert result.original_slice(start, end) == "Ｖ信"
    start, end = span_of(result.text, "仿真枪")
    assert result.original_slice(start, end) == "仿 真 枪"


def test_expanding_characters_map_back_to_the_one_character(normalizer: Normalizer) -> None:
    result = normalizer("说完…就走")
    # … expands to "..." (NFKC), which then sits between two Chinese characters as a separator.
    assert result.text == "说完就走"
    start, end = span_of(result.text, "就走")
    assert result.original_slice(start, end) == "就走"
    assert normalizer("㈱公司").original_slice(0, 3) == "㈱"


def test_empty_text(normalizer: Normalizer) -> None:
    result = normalizer("")
    assert result.text == ""
    assert result.to_original(0, 0) == (0, 0)


def test_spans_outside_the_text_are_refused(normalizer: Normalizer) -> None:
    with pytest.raises(IndexError):
        normalizer("abc").to_original(1, 9)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("枪支出售加V信vx扣 -*\u200b\u202eＡａ，。…頭髮🔫\n㈱qiang")), max_size=40))
def test_offset_map_is_monotone_and_inside_the_original(text: str) -> None:
    result = normalize(text)
    previous_start = 0
    for index in range(len(result.text)):
        start, end = result.to_original(index, index + 1)
        assert 0 <= start < end <= len(text)
        assert start >= previous_start
        previous_start = start
    start, end = result.to_original(0, len(result.text))
    assert 0 <= start <= end <= len(text)


def test_variant_file_errors_name_the_file_and_the_spelling(tmp_path: Path) -> None:
    path = tmp_path / "variants.yaml"
    path.write_text("version: 1\nseparators: '[ ]'\nvariants:\n  - {to: 微信, from: [V信]}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"variants\.yaml.*'V信'.*lower-case"):
        Normalizer(path)("text")
    path.write_text("version: 1\nseparators: '[ ]'\nvariants:\n  - {to: x, from: [a], only_if: {before: '('}}\n")
    with pytest.raises(ConfigFileError, match=r"only_if\.before"):
        Normalizer(path)("text")
