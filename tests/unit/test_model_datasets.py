from pathlib import Path

import pytest

from nlp.model.datasets import (
    LABELLED_DIR,
    NONE_LABEL,
    RISK_LABELS,
    build_risk_corpus,
    hash_bucket,
    load_cold,
    load_fraud,
    load_labelled,
    load_reviews,
    read_labelled_csv,
)

SHARED = (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()
OWN_CATEGORIES = ("violence_threat", "weapons", "drugs", "gambling", "public_hazard", "self_harm")


def test_labelled_csvs_are_valid_and_cover_the_uncovered_categories() -> None:
    counts: dict[str, int] = {}
    for path in sorted(LABELLED_DIR.glob("*.csv")):
        for _text, label in read_labelled_csv(path):
            counts[label] = counts.get(label, 0) + 1
    assert set(counts) <= {*RISK_LABELS, NONE_LABEL}
    for category in OWN_CATEGORIES:
        assert counts.get(category, 0) >= 60, category
    assert counts[NONE_LABEL] >= 100
    assert sum(counts.values()) >= 600


def test_splits_are_deterministic_and_disjoint() -> None:
    splits = {split: {e.text for e in load_labelled(split)} for split in ("train", "tune", "dev")}
    assert splits["train"] and splits["tune"] and splits["dev"]
    assert not (splits["train"] & splits["dev"]) and not (splits["train"] & splits["tune"])
    assert splits["dev"] == {e.text for e in load_labelled("dev")}
    assert hash_bucket("同一句话") == hash_bucket("同一句话")


def test_only_the_train_split_repeats_labelled_posts() -> None:
    train = build_risk_corpus(None, "train")
    dev = build_risk_corpus(None, "dev")
    assert len(train) == 6 * len(load_labelled("train"))
    assert len(dev) == len(load_labelled("dev"))


def test_a_bad_label_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\n好的,none\n坏的,opinion\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv, line 3: label 'opinion'"):
        read_labelled_csv(path)


@pytest.mark.shared_data
def test_public_sets_load_and_hold_out_dev_rows() -> None:
    if not (SHARED / "text").is_dir():
        pytest.skip("../shared/data absent: the public labelled sets are not redistributed with the repository")
    cold_dev = load_cold(SHARED, "dev")
    assert len(cold_dev) > 6000
    assert {e.gold_label for e in cold_dev} == {"cyber_violence", NONE_LABEL}
    fraud_train = {e.text for e in load_fraud(SHARED, "train")}
    fraud_dev = load_fraud(SHARED, "dev")
    assert fraud_dev and not (fraud_train & {e.text for e in fraud_dev})
    assert {e.gold_label for e in fraud_dev} == {"fraud", NONE_LABEL}
    reviews = load_reviews(SHARED, "dev", 500)
    assert len(reviews) == 500 and all(not e.labels for e in reviews)
    assert [e.text for e in reviews] == [e.text for e in load_reviews(SHARED, "dev", 500)]
