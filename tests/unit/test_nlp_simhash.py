"""SimHash near-duplicates: edited copies close, unrelated posts far, values fit SQLite."""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from pathlib import Path

import pytest

from nlp.normalize import normalize
from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE, hamming, is_near_duplicate, simhash, simhash_many

POST = (
    "香坊区幸福家园小区3号楼2单元从昨晚开始就有很大的燃气味，楼道里都能闻到，已经给燃气公司打了电话"
    "但是到现在还没人来处理，楼里有老人和孩子，大家出入注意安全，千万不要用明火，也别按门铃。"
)
UNRELATED = [
    "道里区中央大街今天人特别多，马迭尔冰棍排长队，索菲亚教堂门口拍照的游客也不少，晚上去看了冰灯，"
    "整体体验不错，就是太冷了，建议大家多穿点。",
    "兼职刷单，日结佣金，一单一结，有意者加微信详聊，宝妈学生都可以做，每天轻松赚两三百元，名额有限先到先得。",
    "南岗区学府路附近新开了一家东北菜馆，锅包肉和地三鲜都很地道，分量也足，人均六十左右，周末去要排队。",
]


def fingerprint(text: str) -> int:
    return simhash(normalize(text).text)


def test_fingerprints_are_signed_64_bit_and_stable_across_processes() -> None:
    value = fingerprint(POST)
    assert -(2**63) <= value < 2**63
    # A fresh interpreter with another hash seed computes the same value (no use of hash()).
    code = (
        "from nlp.normalize import normalize; from nlp.simhash import simhash; import sys; "
        "print(simhash(normalize(sys.argv[1]).text))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code, POST],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    assert int(output) == value


def test_text_without_content_has_no_fingerprint() -> None:
    assert simhash("") == 0
    assert simhash("，。！？   ...") == 0
    assert simhash("好") != 0
    assert not is_near_duplicate(0, 0)


def test_hamming_handles_signed_values() -> None:
    assert hamming(-1, 0) == 64
    assert hamming(-(2**63), 2**63 - 1) == 64
    assert hamming(5, 5) == 0
    a, b = fingerprint(POST), fingerprint(UNRELATED[0])
    assert hamming(a, b) == hamming(b, a)


def test_batch_and_single_fingerprints_agree() -> None:
    texts = [normalize(t).text for t in [POST, "", *UNRELATED, "ab"]]
    assert simhash_many(texts) == [simhash(t) for t in texts]


@pytest.mark.parametrize(
    "copy",
    [
        POST.replace("，", " ").replace("。", "!!"),  # punctuation
        POST.replace("老人和孩子", "老人和小孩"),  # one word changed
        "转：" + POST,  # repost prefix
        "转发 @香坊热心群众：" + POST.replace("，", ","),
    ],
    ids=["punctuation", "one_word", "repost_prefix", "prefix_and_punctuation"],
)
def test_lightly_edited_copies_are_near_duplicates(copy: str) -> None:
    distance = hamming(fingerprint(POST), fingerprint(copy))
    assert distance <= NEAR_DUPLICATE_MAX_DISTANCE
    assert is_near_duplicate(fingerprint(POST), fingerprint(copy))


@pytest.mark.parametrize("other", UNRELATED)
def test_unrelated_posts_are_far_apart(other: str) -> None:
    assert hamming(fingerprint(POST), fingerprint(other)) > 3 * NEAR_DUPLICATE_MAX_DISTANCE


@pytest.mark.shared_data
def test_threshold_separates_copies_from_unrelated_real_posts(shared_data: Path) -> None:
    # The measurement behind NEAR_DUPLICATE_MAX_DISTANCE, on a small sample of real SMS texts.
    with (shared_data / "text" / "fraud" / "fraud_train.csv").open(encoding="utf-8") as handle:
        texts = sorted({row["content"] for row in csv.DictReader(handle) if len(row["content"]) >= 60})
    rng = random.Random(7)
    sample = rng.sample(texts, 300)
    prints = [fingerprint(t) for t in sample]
    for text, value in zip(sample, prints, strict=True):
        assert hamming(value, fingerprint("转：" + text.replace("，", ","))) <= NEAR_DUPLICATE_MAX_DISTANCE
    unrelated = [hamming(prints[i], prints[j]) for i, j in (rng.sample(range(len(sample)), 2) for _ in range(2000))]
    share_close = sum(d <= NEAR_DUPLICATE_MAX_DISTANCE for d in unrelated) / len(unrelated)
    assert share_close < 0.005
