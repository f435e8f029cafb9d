"""Authors in reports: keyed pseudonyms, a salt kept private in the data dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from patrol.reports.pseudonyms import AuthorNames, load_or_create_salt, salt_path


def test_salt_is_made_once_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    first = load_or_create_salt(tmp_path / "state")
    assert len(first) == 32 and load_or_create_salt(tmp_path / "state") == first
    assert stat.S_IMODE(salt_path(tmp_path / "state").stat().st_mode) == 0o600


def test_pseudonyms_are_stable_per_salt_and_reveal_nothing(tmp_path: Path) -> None:
    names = AuthorNames(load_or_create_salt(tmp_path))
    alias = names("forum-a", "老王")
    assert alias == names("forum-a", "老王") and alias is not None and alias.startswith("作者-")
    assert "老王" not in alias
    assert names("weibo-b", "老王") != alias  # the same name on another site is another person
    assert AuthorNames(b"another salt of 16+ bytes")("forum-a", "老王") != alias
    assert names("forum-a", None) is None


def test_salt_never_shows_in_repr(tmp_path: Path) -> None:
    salt = load_or_create_salt(tmp_path)
    assert salt.hex() not in repr(AuthorNames(salt)) and str(salt) not in repr(AuthorNames(salt))


def test_real_names_only_when_asked() -> None:
    assert AuthorNames(None)("forum-a", "老王") == "老王"


def test_a_short_salt_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    salt_path(tmp_path).write_bytes(b"short")
    with pytest.raises(ValueError, match="Delete the file"):
        load_or_create_salt(tmp_path)
