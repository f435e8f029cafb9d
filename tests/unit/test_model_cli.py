"""`patrol model train` and `patrol model eval` end to end on the in-repo labelled posts."""

import csv
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from patrol.commands.model import app

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("cli-risk")
    result = runner.invoke(
        app,
        [
            "train",
            "--task",
            "risk",
            "--labelled-only",
            "--max-steps",
            "5",
            "--batch-size",
            "16",
            "--threads",
            "1",
            "--max-length",
            "64",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "saved risk model" in result.output
    return out


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def test_eval_json_has_the_documented_keys(model_dir: Path, tmp_path: Path) -> None:
    data = _write_csv(
        tmp_path / "eval.csv",
        [
            ("出仿真枪，加V看头像", "weapons"),
            ("药已经攒够了，今晚吃完", "self_harm"),
            ("今天的外卖很好吃", "none"),
            ("路灯坏了一个月没人修", "none"),
        ],
    )
    result = runner.invoke(app, ["eval", "--task", "risk", "--data", str(data), "--model", str(model_dir), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {"accuracy", "macro_f1", "per_label", "false_positive_rate"} <= set(payload)
    assert payload["n"] == 4
    assert 0.0 <= payload["false_positive_rate"] <= 1.0
    assert {"precision", "recall", "f1", "support"} == set(payload["per_label"]["none"])
    assert payload["per_label"]["none"]["support"] == 2


def test_eval_table_output(model_dir: Path, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "eval.csv", [("今天天气不错", "none")])
    result = runner.invoke(app, ["eval", "--data", str(data), "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "false_positive_rate" in result.output


def test_eval_rejects_an_unknown_label_naming_the_line(model_dir: Path, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "bad.csv", [("今天天气不错", "none"), ("骂政府", "politics")])
    result = runner.invoke(app, ["eval", "--data", str(data), "--model", str(model_dir)])
    assert result.exit_code == 2
    assert "line 3" in result.output and "politics" in result.output


def test_eval_without_a_model_says_how_to_train(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "eval.csv", [("今天天气不错", "none")])
    result = runner.invoke(app, ["eval", "--data", str(data), "--model", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "patrol model train" in result.output


def test_train_without_shared_data_says_where_to_point(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "--data-dir" in result.output
