"""Where posts live in Elasticsearch: mapping files, index and alias names, the alias state.

- one index per UTC month of publication and mapping version, `patrol-posts-v1-2026.11.01` (the
  `.01` lets ILM read the month from the name, so retention counts from the posts' month);
- a read alias `patrol-posts` over every month of the active version: searches and aggregations;
- a write alias per month, `patrol-posts-write-2026.11`: every upsert goes through it, so a mapping
  change moves writes, then reads, to new indices by swapping aliases atomically (`patrol reindex`).

A post's month never changes, so its `_id` always lands in the same index: nothing is doubled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAPPINGS_DIR = Path(__file__).resolve().parents[3] / "es_mappings"
DEFAULT_PREFIX = "patrol"
RETENTION_POLICY_FILE = "ilm-posts-retention.json"

_VERSIONED_TEMPLATE = re.compile(r"^posts\.v(\d+)\.json$")


class ElasticStoreError(RuntimeError):
    """A problem with the Elasticsearch layout or its files; the message says what to do."""


def mapping_version(mappings_dir: Path = MAPPINGS_DIR) -> int:
    """The newest posts mapping version shipped in `es_mappings/` (posts.v<N>.json)."""
    versions = [
        int(match.group(1))
        for path in mappings_dir.glob("posts.v*.json")
        if (match := _VERSIONED_TEMPLATE.match(path.name))
    ]
    if not versions:
        raise ElasticStoreError(
            f"no posts.v<N>.json in {mappings_dir}: install the package from a source checkout"
            " (pip install -e .) so es_mappings/ sits next to the patrol package"
        )
    return max(versions)


def _load_json(path: Path, what: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ElasticStoreError(f"{path}: cannot read the {what} ({exc})") from exc
    return loaded


def load_posts_template(version: int, mappings_dir: Path = MAPPINGS_DIR) -> dict[str, Any]:
    return _load_json(mappings_dir / f"posts.v{version}.json", "index template")


def load_retention_policy(mappings_dir: Path = MAPPINGS_DIR) -> dict[str, Any]:
    return _load_json(mappings_dir / RETENTION_POLICY_FILE, "ILM policy")


@dataclass(frozen=True)
class IndexNames:
    """Every index, alias, template and policy name, derived from one prefix."""

    prefix: str = DEFAULT_PREFIX

    @property
    def read_alias(self) -> str:
        return f"{self.prefix}-posts"

    @property
    def policy(self) -> str:
        return f"{self.prefix}-posts-retention"

    def template(self, version: int) -> str:
        return f"{self.prefix}-posts-v{version}"

    def pattern(self, version: int | None = None) -> str:
        return f"{self.prefix}-posts-v{version}-*" if version is not None else f"{self.prefix}-posts-v*"

    def index(self, version: int, month: str) -> str:
        return f"{self.prefix}-posts-v{version}-{month}.01"

    def write_alias(self, month: str) -> str:
        return f"{self.prefix}-posts-write-{month}"

    def parse_index(self, name: str) -> tuple[int, str] | None:
        """(version, month) of one of our monthly indices, None for any other name."""
        match = re.fullmatch(re.escape(self.prefix) + r"-posts-v(\d+)-(\d{4}\.\d{2})\.01", name)
        return (int(match.group(1)), match.group(2)) if match else None


def month_of(moment: datetime) -> str:
    """The UTC month a post is stored under, e.g. 2026.11."""
    return moment.astimezone(UTC).strftime("%Y.%m")


def template_request(names: IndexNames, version: int, mappings_dir: Path = MAPPINGS_DIR) -> dict[str, Any]:
    """Keyword arguments for `client.indices.put_index_template`, renamed for `names.prefix`."""
    body = load_posts_template(version, mappings_dir)
    template = json.loads(json.dumps(body["template"]))
    template["settings"]["index"]["lifecycle"]["name"] = names.policy
    return {
        "name": names.template(version),
        "index_patterns": [names.pattern(version)],
        "priority": body["priority"],
        "version": body["version"],
        "meta": body["_meta"],
        "template": template,
    }


@dataclass
class AliasState:
    """Our monthly indices and the mapping version each alias points at."""

    read_versions: set[int] = field(default_factory=set)
    #: month -> version of the index its write alias points at
    write_versions: dict[str, int] = field(default_factory=dict)
    #: index -> (version, month), every version
    indices: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: the indices behind the read alias
    readable: set[str] = field(default_factory=set)

    @property
    def months(self) -> set[str]:
        return {month for _, month in self.indices.values()} | set(self.write_versions)
