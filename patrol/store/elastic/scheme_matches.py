"""Recording which monitoring schemes matched a post: one scripted bulk update per (post, scheme) pair.

The update adds the scheme id to the post's `scheme_ids` unless it is there already (then the answer
is a no-op), so a pair sent again, by a retry or a rerun, doubles nothing. A failed update is counted,
not dead-lettered: the SQLite store keeps every pair, and each later write of the post brings the
schemes SQLite recorded for it (`ElasticPostStore(scheme_ids=...)`), as does `patrol reindex`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patrol.store.base import SchemeMatchResult
from patrol.store.elastic.bulk import item_reason

#: Errors that mean the post is not in the index (deleted, or not written yet): nothing to update.
_MISSING = frozenset({"document_missing_exception", "index_not_found_exception"})


@dataclass
class SchemeUpdate:
    post_id: str
    scheme_id: str
    lines: bytes


@dataclass
class SchemeMatchAccount:
    result: SchemeMatchResult

    def settle(self, entry: SchemeUpdate, status: int, answer: dict[str, Any]) -> None:
        error = answer.get("error")
        kind = error.get("type") if isinstance(error, dict) else None
        if 200 <= status < 300:
            if answer.get("result") == "noop":
                self.result.unchanged += 1
            else:
                self.result.added += 1
        elif status == 404 and kind in _MISSING:
            self.result.missing += 1
        else:
            reason = item_reason(status, error)
            if kind == "strict_dynamic_mapping_exception":
                # An index of a mapping older than the field: the alias swap has not been run yet.
                reason += " (the index predates scheme_ids: run `patrol reindex` to move to the new mapping)"
            self.fail(entry, reason)

    def fail(self, entry: SchemeUpdate, reason: str) -> None:
        self.result.failed += 1
        self.result.failures.append(f"{entry.post_id}: scheme {entry.scheme_id}: {reason}")
