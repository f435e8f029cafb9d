"""The sources file: which sites to crawl, how often, and how much per pass.

```yaml
sources:
  - id: harbin_forum            # letters, digits, _ and -: it names folders
    kind: discuz                # discuz | tieba | weibo | feed | article | profile
    start_urls: ["http://bbs.example.cn/forum.php"]
    interval_s: 600             # schedule: seconds between passes
    max_pages: 2000             # budget: most pages one pass may fetch
    jurisdiction_hint: xiangfang
    enabled: true
  - id: xf_bbs
    kind: profile               # a forum no built-in spider knows: described by a site profile
    profile: phpbb3             # a shipped profile (crawlers/profiles/phpbb3.yaml) or a path to one
    start_urls: ["http://bbs.example.org/viewforum.php?f=2"]
  - id: city_news
    kind: article               # news pages: links on the start pages, read by the generic extractor
    start_urls: ["http://news.example.cn/local/"]
    article_links: "/\\d{4}/\\d{2}/.+\\.s?html$"   # optional: which links are articles
```

Politeness per source (optional; the crawler's settings apply otherwise): `obey_robots` (default
true: set false only with the site owner's written permission), `concurrency` (parallel requests
to the site), `delay_s` (least seconds between its requests).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SourceKind = Literal["discuz", "tieba", "weibo", "feed", "article", "profile"]
#: Where `profile: NAME` looks first: the profiles shipped with the crawlers.
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"


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
    profile: str | None = Field(None, description="kind profile: a shipped profile name or a YAML file path")
    article_links: str | None = Field(None, description="kind article: regex of article URLs on the start pages")
    obey_robots: bool = Field(True, description="false only with the site owner's permission")
    concurrency: int | None = Field(None, gt=0, le=16, description="parallel requests to the site")
    delay_s: float | None = Field(None, ge=0, le=600, description="least seconds between requests to the site")

    @field_validator("start_urls")
    @classmethod
    def _absolute_http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an absolute http(s) URL")
        return urls

    @field_validator("article_links")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return pattern

    @model_validator(mode="after")
    def _derive_allowed_domains(self) -> SourceConfig:
        if not self.allowed_domains:
            hosts = [urlsplit(url).hostname or "" for url in self.start_urls]
            self.allowed_domains = sorted({host for host in hosts if host})
        if self.kind == "profile" and not self.profile:
            raise ValueError("kind 'profile' needs 'profile: NAME' (a shipped profile) or a path to a YAML profile")
        if self.kind != "profile" and self.profile:
            raise ValueError(f"'profile' applies to kind 'profile' only, not {self.kind!r}")
        if self.kind != "article" and self.article_links:
            raise ValueError(f"'article_links' applies to kind 'article' only, not {self.kind!r}")
        return self

    def scrapy_settings(self) -> dict[str, str | int | float]:
        """Scrapy settings this source overrides for its crawl (politeness per site)."""
        settings: dict[str, str | int | float] = {}
        if not self.obey_robots:
            settings["ROBOTSTXT_OBEY"] = "False"
        if self.concurrency is not None:
            settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = self.concurrency
        if self.delay_s is not None:
            settings["DOWNLOAD_DELAY"] = self.delay_s
        return settings


def resolve_profile(reference: str, base_dir: Path) -> Path:
    """The profile file a source names: `NAME` (shipped) or a path, relative to the sources file's folder."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", reference):
        shipped = PROFILES_DIR / f"{reference}.yaml"
        if shipped.exists():
            return shipped
    path = Path(reference).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if path.exists():
        return path.resolve()
    shipped_names = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))) or "none"
    raise FileNotFoundError(
        f"no site profile {reference!r}: neither a shipped profile ({shipped_names}) nor a file at {path}"
    )


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
        if source.profile is not None:
            try:
                source.profile = str(resolve_profile(source.profile, path.parent))
            except FileNotFoundError as exc:
                line = lines[index][1].get("profile") if index < len(lines) else None
                at = f" (line {line})" if line else ""
                raise SourcesFileError(
                    f"{path}: entry {index} (id {source.id!r}): field 'profile'{at}: {exc}."
                ) from exc
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
