"""What the indexer writes for one post, and the bulk lines that carry it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from patrol.schema import AnalysedPost, Analysis, Post
from patrol.store.base import QueryTokenizer
from patrol.thresholds import Thresholds

# Full replacement unless the content is the same: a partial `doc` update would merge objects such as
# risk_scores with the old values, and a plain `index` cannot say "unchanged". The schemes recorded for
# the post are not content: they are kept through a replacement, and those the document brings are
# added (a no-op only when the content is the same and the document brings no new scheme).
UPSERT_SCRIPT = (
    "def kept = ctx._source.scheme_ids; def given = params.doc.scheme_ids;"
    " if (ctx._source.content_hash == params.doc.content_hash"
    " && (given == null || (kept != null && kept.containsAll(given)))) { ctx.op = 'noop' }"
    " else { Set ids = new TreeSet(); if (kept != null) { ids.addAll(kept) }"
    " if (given != null) { ids.addAll(given) }"
    " ctx._source.clear(); ctx._source.putAll(params.doc);"
    " if (!ids.isEmpty()) { ctx._source.scheme_ids = new ArrayList(ids) } }"
)

# One scheme added to a post's scheme_ids, once: a pair recorded again is a no-op. No upsert: the
# update of a post the index does not hold fails (404 document_missing_exception) and creates nothing.
ADD_SCHEME_SCRIPT = (
    "if (ctx._source.scheme_ids == null) { ctx._source.scheme_ids = [params.scheme_id] }"
    " else if (ctx._source.scheme_ids.contains(params.scheme_id)) { ctx.op = 'noop' }"
    " else { ctx._source.scheme_ids.add(params.scheme_id) }"
)


def content_hash(item: AnalysedPost) -> str:
    """What decides "unchanged": everything but the fetch time (a re-crawl of the same text is a no-op)."""
    payload = item.post.model_dump_json(exclude={"fetched_at"}) + item.analysis.model_dump_json()
    return hashlib.sha1(payload.encode("utf-8", "surrogatepass")).hexdigest()


def post_document(
    item: AnalysedPost, tokenize: QueryTokenizer, thresholds: Thresholds, scheme_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """The `_source` the indexer writes for one post: the post's fields, its analysis, derived fields,
    and `scheme_ids`, the monitoring schemes recorded for it (left out when there are none).

    The title is tokenised like a query and indexed beside the body, for a thread's first floor only,
    exactly as in the SQLite store's full-text row.
    """
    post, analysis = item.post, item.analysis
    doc: dict[str, Any] = post.model_dump(mode="json")
    doc["analysis"] = analysis.model_dump(mode="json", exclude={"post_id"})
    title = post.title or post.thread_title or ""
    doc["title_tokens"] = [t for t in tokenize(title) if t.strip()] if post.floor in (None, 1) else []
    top = max(analysis.risk_scores.items(), key=lambda kv: kv[1], default=(None, 0.0))
    doc["max_risk"] = float(top[1])
    doc["top_category"] = top[0] if top[1] > 0 else None
    doc["flagged_categories"] = sorted(thresholds.flagged(analysis.risk_scores))
    doc["content_hash"] = content_hash(item)
    if scheme_ids:
        # Only when there are some: a post no scheme matched also fits a mapping older than the field.
        doc["scheme_ids"] = sorted(set(scheme_ids))
    return doc


def analysed_post_from_source(source: dict[str, Any]) -> AnalysedPost:
    post = Post.model_validate({k: source[k] for k in Post.model_fields if k in source})
    analysis = Analysis.model_validate({**source["analysis"], "post_id": source["id"]})
    return AnalysedPost(post=post, analysis=analysis)


def dumps(value: Any) -> bytes:
    # allow_nan=False: a NaN score fails its own document here instead of a whole bulk request there.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def scheme_update_lines(target: str, post_id: str, scheme_id: str) -> bytes:
    """The two NDJSON lines of a bulk update that adds `scheme_id` to the post's scheme_ids."""
    action = {"update": {"_index": target, "_id": post_id, "retry_on_conflict": 3}}
    body = {"script": {"source": ADD_SCHEME_SCRIPT, "lang": "painless", "params": {"scheme_id": scheme_id}}}
    return dumps(action) + b"\n" + dumps(body) + b"\n"


def bulk_lines(target: str, doc: dict[str, Any], *, overwrite: bool = True) -> bytes:
    """The two NDJSON lines of one bulk action: a scripted upsert, or a create that never overwrites."""
    if overwrite:
        action = {"update": {"_index": target, "_id": doc["id"], "retry_on_conflict": 3}}
        body: dict[str, Any] = {
            "scripted_upsert": True,
            "upsert": {},
            "script": {"source": UPSERT_SCRIPT, "lang": "painless", "params": {"doc": doc}},
        }
    else:
        action = {"create": {"_index": target, "_id": doc["id"]}}
        body = doc
    return dumps(action) + b"\n" + dumps(body) + b"\n"
