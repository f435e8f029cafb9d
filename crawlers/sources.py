"""The sources file: which sites to crawl, how often, and how much per pass.

```yaml
sources:
  - id: harbin_forum            # letters, digits, _ and -: it names folders
    kind: discuz                # discuz | weibo
    start_urls: ["http://bbs.example.cn/forum.php"]
    interval_s: 600             # schedule: seconds between passes
    max_pages: 2000             # budget: most pages one pass may fetch
    jurisdiction_hint: xiangfang
    enabled: true
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SourceKind = Literal["discuz", "weibo"]


class SourcesFileError(ValueError):
    """The sources file is missing, not YAML, or has an entry that does not fit the schema."""


class SourceConfig(BaseModel):
    """One site (or one account feed) to crawl."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="names the state and landing folders")
    kind: SourceKind
    start_urls: list[str] = Field(min_length=1)
    allowed_domains: list[str] = Field(default_factory=list, description="default: the start URLs' hosts")
    interval_s: int = Field(600, gt=0, description="seconds between passes")
    jurisdiction_hint: str | None = None
    max_pages: int = Field(2000, gt=0, description="most pages one pass may fetch")
    enabled: bool = True

    @field_validator("start_urls")
    @classmethod
    def _absolute_http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return urls

    @model_validator(mode="after")
    def _derive_allowed_domains(self) -> SourceConfig:
        if not self.allowed_domains:
            hosts = [urlsplit(url).hostname or "" for url in self.start_urls]
            self.allowed_domains = sorted({host for host in hosts if host})
        return self


def _entry_lines(path: Path, text: str) -> list[tuple[int, dict[str, int]]]:
    """Per entry: its line and each field's line (1-based), read from the YAML node tree."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "sources" and isinstance(value, yaml.SequenceNode):
            lines = []
            for entry in value.value:
                fields = (
                    {k.value: k.start_mark.line + 1 for k, _ in entry.value}
                    if isinstance(entry, yaml.MappingNode)
                    else {}
                )
                lines.append((entry.start_mark.line + 1, fields))
            return lines
    return []


def _describe(path: Path, index: int, entry: Any, lines: list[tuple[int, dict[str, int]]], exc: ValidationError) -> str:
    source_id = entry.get("id") if isinstance(entry, dict) else None
    where = f"entry {index}" + (f" (id {source_id!r})" if source_id else "")
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(entry)"
        top = str(error["loc"][0]) if error["loc"] else ""
        line = None
        if index < len(lines):
            line = lines[index][1].get(top, lines[index][0])
        at = f" (line {line})" if line else ""
        problems.append(f"field {field!r}{at}: {error['msg']}")
    return f"{path}: {where}: " + "; ".join(problems) + ". Fix the entry and run again."


def load_sources(path: Path) -> list[SourceConfig]:
    """Read and validate a sources file `{sources: [...]}`; raise `SourcesFileError` naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesFileError(f"{path}: cannot read the sources file ({exc.strerror or exc}).") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourcesFileError(f"{path}: not valid YAML{at}: {problem}. Fix the file and run again.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise SourcesFileError(f"{path}: expected a mapping with a 'sources:' list of source entries.")
    lines = _entry_lines(path, text)
    sources: list[SourceConfig] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["sources"]):
        try:
            source = SourceConfig.model_validate(entry)
        except ValidationError as exc:
            raise SourcesFileError(_describe(path, index, entry, lines, exc)) from exc
        if source.id in seen:
            line = lines[index][0] if index < len(lines) else None
            at = f" (line {line})" if line else ""
            raise SourcesFileError(
                f"{path}: entry {index}{at}: field 'id': {source.id!r} is already used by entry "
                f"{seen[source.id]}; "
                "give every source its own id."
            )
        seen[source.id] = index
        sources.append(source)
    return sources


def find_source(path: Path, source_id: str) -> SourceConfig:
    """The source with `source_id` in the sources file, or `SourcesFileError` listing the known ids."""
    sources = load_sources(path)
    for source in sources:
        if source.id == source_id:
            return source
    known = ", ".join(source.id for source in sources) or "none"
    raise SourcesFileError(f"{path}: no source with id {source_id!r} (known: {known}).")
