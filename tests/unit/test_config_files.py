from __future__ import annotations

from pathlib import Path

import pytest

from patrol.config import DEFAULTS_DIR, Settings
from patrol.datafiles import ConfigFileError
from patrol.thresholds import load_thresholds


def test_shipped_thresholds_load() -> None:
    thresholds = load_thresholds(DEFAULTS_DIR / "thresholds.yaml")
    assert thresholds.for_category("self_harm") < thresholds.for_category("fraud")
    assert thresholds.flagged({"fraud": 0.6, "drugs": 0.9, "gambling": 0.1}) == ["drugs", "fraud"]


def test_wrong_threshold_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("default: 0.5\ncategories:\n  politics: 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_thresholds(path)
    message = str(error.value)
    assert str(path) in message and "categories" in message and "politics" in message and "line 2" in message


def test_broken_yaml_points_at_line(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("default: 0.5\ncategories: [\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="line"):
        load_thresholds(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="not found"):
        load_thresholds(tmp_path / "nope.yaml")


def test_settings_from_env_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "patrol.toml").write_text('data_dir = "from-toml"\ncrawl_timeout_s = 42\n', encoding="utf-8")
    assert Settings().data_dir == Path("from-toml") and Settings().crawl_timeout_s == 42
    monkeypatch.setenv("PATROL_DATA_DIR", "from-env")
    settings = Settings()
    assert settings.data_dir == Path("from-env")
    assert settings.sqlite_path == Path("from-env") / "patrol.db"
    assert settings.workflow_url == "sqlite:///from-env/patrol.db"
