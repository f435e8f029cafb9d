"""Saving configuration edited in the console: atomically, audited, never into the installed package.

A file shipped with the package (the defaults) is never overwritten: the edited copy goes to the
console's config folder and the page says which setting to point at it. A file of the deployment's
own is replaced in place, after a timestamped backup (a YAML dump does not keep comments).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from patrol.config import PACKAGE_DIR

_INSTALLED_ROOT = PACKAGE_DIR.parent


@dataclass(frozen=True)
class SavedConfig:
    path: Path
    in_effect: bool
    setting: str
    backup: Path | None


def is_packaged(path: Path) -> bool:
    try:
        path.resolve().relative_to(_INSTALLED_ROOT / "patrol")
        return True
    except ValueError:
        pass
    try:
        path.resolve().relative_to(_INSTALLED_ROOT / "nlp")
        return True
    except ValueError:
        return False


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_config(configured: Path, config_dir: Path, text: str, *, setting: str, now: datetime) -> SavedConfig:
    """Write `text` where the console may; says whether the running configuration already reads it."""
    if is_packaged(configured):
        target = config_dir / configured.name
        write_atomically(target, text)
        return SavedConfig(path=target, in_effect=False, setting=setting, backup=None)
    backup = None
    if configured.exists():
        backup = configured.with_name(f"{configured.name}.{now:%Y%m%dT%H%M%S}.bak")
        shutil.copy2(configured, backup)
    write_atomically(configured, text)
    return SavedConfig(path=configured, in_effect=True, setting=setting, backup=backup)
