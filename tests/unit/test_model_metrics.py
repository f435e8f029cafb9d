import numpy as np
import pytest

from nlp.model.evaluate import best_threshold, classification_report, risk_label, sentiment_label


def test_classification_report_counts() -> None:
    gold = ["fraud", "fraud", "none", "none", "none", "drugs"]
    pred = ["fraud", "none", "none", "fraud", "none", "drugs"]
    report = classification_report(gold, pred)
    assert report.n == 6
    assert report.accuracy == pytest.approx(4 / 6, abs=1e-4)
    assert report.per_label["fraud"].precision == 0.5
    assert report.per_label["fraud"].recall == 0.5
    assert report.per_label["drugs"].f1 == 1.0
    assert report.per_label["none"].support == 3
    assert report.false_positive_rate == pytest.approx(1 / 3, abs=1e-4)
    # macro over the gold labels: fraud 0.5, none 2/3, drugs 1.0
    assert report.macro_f1 == pytest.approx((0.5 + 2 / 3 + 1.0) / 3, abs=1e-4)


def test_false_positive_rate_is_none_without_negative_rows() -> None:
    assert classification_report(["fraud"], ["fraud"]).false_positive_rate is None


def test_risk_label_takes_most_probable_category_over_threshold() -> None:
    thresholds = {"fraud": 0.5, "drugs": 0.9, "gambling": 0.5}
    assert risk_label({"fraud": 0.6, "drugs": 0.8, "gambling": 0.7}, thresholds) == "gambling"
    assert risk_label({"fraud": 0.4, "drugs": 0.8, "gambling": 0.1}, thresholds) == "none"


def test_sentiment_label_has_a_neutral_band() -> None:
    assert [sentiment_label(s, 0.2) for s in (0.5, 0.1, -0.2, -0.7)] == [
        "positive",
        "neutral",
        "neutral",
        "negative",
    ]


def test_best_threshold_separates_clean_scores_and_stays_high_without_positives() -> None:
    probabilities = np.array([0.1, 0.2, 0.3, 0.7, 0.8])
    positives = np.array([False, False, False, True, True])
    assert 0.3 < best_threshold(probabilities, positives) <= 0.7
    assert best_threshold(probabilities, np.zeros(5, dtype=bool)) == 0.9
