from pathlib import Path

import numpy as np

from nlp.model.baseline import NgramClassifier

TEXTS = [
    "出仿真枪加微信",
    "出气枪包邮",
    "收猎枪子弹",
    "今天天气很好",
    "外卖很好吃",
    "快递很快",
    "出钢珠枪",
    "米饭好吃",
]
TARGETS = np.array([[1], [1], [1], [0], [0], [0], [1], [0]], dtype=np.float32)


def test_fit_predicts_and_reloads_from_plain_files(tmp_path: Path) -> None:
    model = NgramClassifier(["weapons"], min_df=1).fit(TEXTS, TARGETS)
    probabilities = model.predict_proba(["出枪", "好吃的外卖"])
    assert probabilities.shape == (2, 1)
    assert probabilities[0, 0] > probabilities[1, 0]
    model.save(tmp_path)
    assert NgramClassifier.is_saved(tmp_path)
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.joblib"))
    reloaded = NgramClassifier.load(tmp_path)
    assert np.allclose(reloaded.predict_proba(["出枪", "好吃的外卖"]), probabilities, atol=1e-6)
    assert reloaded.predict_proba([]).shape == (0, 1)


def test_a_label_without_positives_never_fires() -> None:
    targets = np.hstack([TARGETS, np.zeros((len(TEXTS), 1), dtype=np.float32)])
    model = NgramClassifier(["weapons", "drugs"], min_df=1).fit(TEXTS, targets)
    assert float(model.predict_proba(["出仿真枪"])[0, 1]) < 0.01
