"""The retention policy is data: the shipped file is valid, and a wrong one is refused with the file
and field named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from patrol.config import load_settings
from patrol.datafiles import ConfigFileError
from patrol.ops.retention import DEFAULT_POLICY_FILE, Cutoffs, load_retention_policy, policy_file
from tests.conftest import BASE_TIME


def test_shipped_policy_is_valid_and_keeps_the_audit_log() -> None:
    policy = load_retention_policy(DEFAULT_POLICY_FILE)
    assert policy.audit_log == "keep"
    assert policy.flagged_posts_days >= policy.unflagged_posts_days
    assert policy_file(load_settings()) == DEFAULT_POLICY_FILE


def test_cutoffs_follow_the_days() -> None:
    policy = load_retention_policy(DEFAULT_POLICY_FILE)
    cutoffs = Cutoffs.of(policy, BASE_TIME)
    assert cutoffs.unflagged_posts == BASE_TIME - timedelta(days=policy.unflagged_posts_days)
    assert cutoffs.flagged_items == BASE_TIME - timedelta(days=policy.flagged_posts_days)


def _write(tmp_path: Path, **changes: object) -> Path:
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    for key, value in changes.items():
        lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line for line in text.splitlines()]
        text = "\n".join(lines)
    path = tmp_path / "retention.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_flagged_posts_may_not_go_before_the_rest(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"flagged_posts_days .* must be at least"):
        load_retention_policy(_write(tmp_path, flagged_posts_days=30))


def test_audit_log_cannot_be_purged(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"retention.yaml, line \d+: field 'audit_log'"):
        load_retention_policy(_write(tmp_path, audit_log="365"))


def test_unknown_and_non_positive_fields_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="landing_files_days"):
        load_retention_policy(_write(tmp_path, landing_files_days=0))
    path = _write(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\nposts_days: 10\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="posts_days"):
        load_retention_policy(path)
