"""Loading the YAML files users edit, with errors that name the file, the place and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigFileError(ValueError):
    """A user-edited data file is missing or wrong; the message says where and what to fix."""


def _line_of(path: Path, location: tuple[Any, ...]) -> str:
    # Best effort: find the line of the deepest string key named in the error location.
    keys = [str(part) for part in location if isinstance(part, str)]
    if not keys:
        return ""
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.lstrip(" -").startswith(f"{keys[-1]}:"):
                return f", line {number}"
    except OSError:
        return ""
    return ""


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: file not found; create it or point the setting at an existing file") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigFileError(f"{path}{where}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            problems.append(f"{path}{_line_of(path, error['loc'])}: field '{field}': {error['msg']}")
        raise ConfigFileError("\n".join(problems)) from exc
