"""Author names in reports: a keyed hash by default, so a report never carries who wrote what.

The key (salt) lives in the data dir, is made on first use, readable only by its owner, and is
never printed or written into a report. With the same key, one author gets the same pseudonym in
every report of this installation; deleting the file breaks that link for all later reports.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SALT_FILE_NAME = "report-author-salt"


def salt_path(state_dir: Path) -> Path:
    return state_dir / SALT_FILE_NAME


def load_or_create_salt(state_dir: Path) -> bytes:
    path = salt_path(state_dir)
    try:
        salt = path.read_bytes()
    except FileNotFoundError:
        state_dir.mkdir(parents=True, exist_ok=True)
        salt = secrets.token_bytes(32)
        try:
            # O_EXCL: two reports starting at once must not each write their own salt.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as out:
            out.write(salt)
        return salt
    if len(salt) < 16:
        raise ValueError(
            f"{path} holds {len(salt)} bytes; a pseudonym salt needs at least 16. Delete the file to make"
            " a new one (earlier reports' pseudonyms will then no longer match later ones)"
        )
    return salt


class AuthorNames:
    """Shows an author as a pseudonym (default) or, when a report asks for it, as crawled."""

    def __init__(self, salt: bytes | None) -> None:
        self._salt = salt

    @property
    def pseudonymised(self) -> bool:
        return self._salt is not None

    def __call__(self, source_id: str, author: str | None) -> str | None:
        if not author:
            return None
        if self._salt is None:
            return author
        digest = hmac.new(self._salt, f"{source_id}\x00{author}".encode(), hashlib.sha256).hexdigest()
        return f"作者-{digest[:10]}"

    def __repr__(self) -> str:  # the salt never reaches a log line
        return f"AuthorNames(pseudonymised={self.pseudonymised})"
