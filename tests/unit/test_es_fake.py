"""A fake Elasticsearch upstream for the store's write path, and the tests that keep it honest.

No Elasticsearch engine can be installed on the build machines, so the bulk and reindex tests talk to
this stand-in instead: a stdlib `http.server` on 127.0.0.1 and an ephemeral port, speaking the slice
of the REST API the store's writes use (info with the product header, index templates, ILM policies,
indices, aliases, `_bulk`, `_count`, `_refresh`, and `_search` by ids, which finds a post's index),
over the real `elasticsearch` client and its HTTP stack. Its bulk answers can be scripted per request:
failed items, a 429 for the whole request, a connection dropped after some items were applied.
Documents are checked against the installed template's strict mapping, as the real cluster does. The
store's two painless scripts are run by Python equivalents below, and any other script is refused, so
a script changed without its equivalent fails here. Search, highlighting and aggregations are not
faked: the contract suite runs those against a real cluster when PATROL_ES_URL is set.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from elasticsearch import Elasticsearch

from patrol.store.elastic.documents import ADD_SCHEME_SCRIPT, UPSERT_SCRIPT

_TYPES_FOR_VALUE: dict[type, set[str]] = {
    str: {"keyword", "text", "date"},
    bool: {"boolean"},
    int: {"integer", "long", "double", "float"},
    float: {"double", "float"},
}


def mapping_violations(doc: dict[str, Any], properties: dict[str, Any], path: str = "") -> list[str]:
    """What a strict mapping refuses in `doc`: unmapped fields and values of the wrong kind."""
    problems: list[str] = []
    for name, value in doc.items():
        where = f"{path}{name}"
        spec = properties.get(name)
        if spec is None:
            problems.append(f"{where}: not mapped (dynamic: strict)")
            continue
        values = value if isinstance(value, list) else [value]
        for one in values:
            if one is None:
                continue
            if isinstance(one, dict):
                if "properties" not in spec:
                    problems.append(f"{where}: an object where the mapping has {spec.get('type')}")
                else:
                    problems.extend(mapping_violations(one, spec["properties"], f"{where}."))
            elif spec.get("type") not in _TYPES_FOR_VALUE.get(type(one), set()):
                problems.append(f"{where}: {type(one).__name__} value mapped as {spec.get('type')}")
            elif spec.get("type") == "integer" and not -(2**31) <= one < 2**31:
                problems.append(f"{where}: {one} does not fit an integer")
            elif spec.get("type") == "long" and not -(2**63) <= one < 2**63:
                problems.append(f"{where}: {one} does not fit a long")
    return problems


@dataclass
class FakeIndex:
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeCluster:
    """The cluster state behind the fake server, and the script for its next bulk answers."""

    indices: dict[str, FakeIndex] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: one entry per coming /_bulk request: ("ok",), ("reject", status), ("drop", items_applied_first),
    #: ("fail_items", {post_id: (status, error_type)})
    bulk_plan: list[tuple[Any, ...]] = field(default_factory=list)
    bulk_requests: int = 0
    bulk_bodies: list[int] = field(default_factory=list, metadata={"doc": "bytes of each bulk request"})
    #: every bulk action received, (action line, body line), in order
    bulk_actions: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    #: how often each post id was written with new content (created or updated): doubles show here
    writes: Counter[str] = field(default_factory=Counter)
    #: how often a scheme id was added to each post id (an id added twice would show here)
    scheme_writes: Counter[str] = field(default_factory=Counter)
    alias_updates: list[list[dict[str, Any]]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def resolve(self, expression: str) -> list[str]:
        names: set[str] = set()
        for part in expression.split(","):
            for name, index in self.indices.items():
                if fnmatch.fnmatchcase(name, part) or any(fnmatch.fnmatchcase(a, part) for a in index.aliases):
                    names.add(name)
        return sorted(names)

    def write_index(self, target: str) -> str | None:
        holders = [n for n, i in self.indices.items() if target in i.aliases]
        if len(holders) == 1:
            return holders[0]
        chosen = [n for n in holders if self.indices[n].aliases[target].get("is_write_index")]
        return chosen[0] if chosen else None

    def all_docs(self) -> dict[str, list[str]]:
        """post id -> the indices holding it (more than one would be a double)."""
        where: dict[str, list[str]] = {}
        for name, index in self.indices.items():
            for doc_id in index.docs:
                where.setdefault(doc_id, []).append(name)
        return where

    def create_index(self, name: str, body: dict[str, Any]) -> FakeIndex:
        index = FakeIndex(aliases=dict(body.get("aliases", {})))
        for template in sorted(self.templates.values(), key=lambda t: -t.get("priority", 0)):
            if any(fnmatch.fnmatchcase(name, p) for p in template["index_patterns"]):
                index.properties = template["template"]["mappings"]["properties"]
                break
        self.indices[name] = index
        return index

    def bulk_item(self, action: str, meta: dict[str, Any], body: dict[str, Any], fail: dict[str, Any]) -> dict:
        doc_id = meta["_id"]
        answer: dict[str, Any] = {"_id": doc_id}
        if doc_id in fail:
            status, kind = fail[doc_id]
            return {action: answer | {"status": status, "error": {"type": kind, "reason": "scripted failure"}}}
        target = self.write_index(meta["_index"])
        if target is None:
            error = {"type": "index_not_found_exception", "reason": f"no such index [{meta['_index']}]"}
            return {action: answer | {"status": 404, "error": error}}
        index = self.indices[target]
        existing = index.docs.get(doc_id)
        if action == "update":
            source = body["script"]["source"]
            if source == ADD_SCHEME_SCRIPT:
                return self._add_scheme(index, target, answer, existing, body["script"]["params"]["scheme_id"])
            if source != UPSERT_SCRIPT:
                return {action: answer | {"status": 400, "error": {"type": "unsupported_by_fake", "reason": source}}}
            doc = body["script"]["params"]["doc"]
        else:
            doc = body
        problems = mapping_violations(doc, index.properties)
        if problems:
            error = {"type": "strict_dynamic_mapping_exception", "reason": "; ".join(problems)}
            return {action: answer | {"status": 400, "error": error}}
        if action == "create" and existing is not None:
            return {action: answer | {"status": 409, "error": {"type": "version_conflict_engine_exception"}}}
        if existing is not None:
            # UPSERT_SCRIPT: the schemes already recorded are kept, and a no-op needs the same content
            # and no scheme the stored document lacks.
            kept, given = existing.get("scheme_ids"), doc.get("scheme_ids")
            if existing.get("content_hash") == doc["content_hash"] and (
                given is None or (kept is not None and set(given) <= set(kept))
            ):
                return {action: answer | {"status": 200, "result": "noop", "_index": target}}
            ids = sorted(set(kept or []) | set(given or []))
            doc = {**doc, "scheme_ids": ids} if ids else doc
        index.docs[doc_id] = doc
        self.writes[doc_id] += 1
        return {
            action: answer
            | {
                "status": 201 if existing is None else 200,
                "_index": target,
                "result": "created" if existing is None else "updated",
            }
        }

    def _add_scheme(
        self, index: FakeIndex, target: str, answer: dict[str, Any], existing: dict[str, Any] | None, scheme_id: str
    ) -> dict:
        """ADD_SCHEME_SCRIPT, without an upsert: a missing document is an error, as in Elasticsearch."""
        if existing is None:
            error = {"type": "document_missing_exception", "reason": f"[{answer['_id']}]: document missing"}
            return {"update": answer | {"status": 404, "error": error}}
        kept = existing.get("scheme_ids") or []
        if scheme_id in kept:
            return {"update": answer | {"status": 200, "result": "noop", "_index": target}}
        updated = {**existing, "scheme_ids": [*kept, scheme_id]}
        problems = mapping_violations(updated, index.properties)
        if problems:
            error = {"type": "strict_dynamic_mapping_exception", "reason": "; ".join(problems)}
            return {"update": answer | {"status": 400, "error": error}}
        index.docs[answer["_id"]] = updated
        self.scheme_writes[answer["_id"]] += 1
        return {"update": answer | {"status": 200, "result": "updated", "_index": target}}

    def search_ids(self, expression: str, body: dict[str, Any]) -> dict[str, Any]:
        """`_search` with an `ids` query (collapsed on `id`): where each post is, nothing else."""
        query = body.get("query", {})
        if set(query) != {"ids"}:
            raise ValueError(f"the fake searches by ids only, not {query}")
        wanted = set(query["ids"]["values"])
        hits: list[dict[str, Any]] = []
        for name in self.resolve(expression):
            hits.extend({"_index": name, "_id": doc_id} for doc_id in self.indices[name].docs if doc_id in wanted)
        if "collapse" in body:
            first: dict[str, dict[str, Any]] = {}
            for hit in hits:
                first.setdefault(hit["_id"], hit)
            hits = list(first.values())
        return {"hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits[: body.get("size", 10)]}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster: FakeCluster

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _reply(self, status: int, body: Any = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _error(self, status: int, kind: str, reason: str = "") -> None:
        self._reply(status, {"error": {"type": kind, "reason": reason}, "status": status})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _route(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        raw = self._body()
        c = self.cluster
        with c.lock:
            method = self.command
            if not parts:
                self._reply(
                    200,
                    {
                        "name": "fake",
                        "cluster_name": "fake",
                        "version": {"number": "9.5.1"},
                        "tagline": "You Know, for Search",
                    },
                )
            elif parts[0] == "_bulk":
                self._bulk(raw)
            elif parts[0] in ("_ilm", "_index_template"):
                kept, name = (c.policies, parts[2]) if parts[0] == "_ilm" else (c.templates, parts[1])
                if method == "DELETE" and kept.pop(name, None) is None:
                    self._error(404, "resource_not_found_exception", name)
                elif method == "DELETE":
                    self._reply(200, {"acknowledged": True})
                else:
                    kept[name] = json.loads(raw)
                    self._reply(200, {"acknowledged": True})
            elif parts[0] == "_alias":
                found = any(parts[1] in i.aliases for i in c.indices.values())
                self._reply(200 if found else 404, {} if found else None)
            elif parts[0] == "_aliases":
                self._aliases(json.loads(raw)["actions"])
            elif len(parts) == 2 and parts[1] == "_alias":
                names = c.resolve(parts[0])
                self._reply(200, {n: {"aliases": c.indices[n].aliases} for n in names})
            elif len(parts) == 2 and parts[1] == "_count":
                names = c.resolve(parts[0])
                self._reply(200, {"count": sum(len(c.indices[n].docs) for n in names)})
            elif len(parts) == 2 and parts[1] == "_search":
                try:
                    self._reply(200, c.search_ids(parts[0], json.loads(raw) if raw else {}))
                except ValueError as exc:
                    self._error(400, "unsupported_by_fake", str(exc))
            elif len(parts) == 2 and parts[1] == "_refresh":
                self._reply(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
            elif len(parts) == 1 and method == "HEAD":
                self._reply(200 if parts[0] in c.indices else 404)
            elif len(parts) == 1 and method == "PUT":
                if parts[0] in c.indices:
                    self._error(400, "resource_already_exists_exception", parts[0])
                else:
                    c.create_index(parts[0], json.loads(raw) if raw else {})
                    self._reply(200, {"acknowledged": True, "index": parts[0]})
            elif len(parts) == 1 and method == "DELETE":
                for name in c.resolve(parts[0]):
                    del c.indices[name]
                self._reply(200, {"acknowledged": True})
            else:
                self._error(400, "unsupported_by_fake", f"{method} {self.path} {query}")

    def _aliases(self, actions: list[dict[str, Any]]) -> None:
        c = self.cluster
        c.alias_updates.append(actions)
        for action in actions:
            ((verb, spec),) = action.items()
            for name in c.resolve(spec["index"]) if "*" in spec["index"] else [spec["index"]]:
                if verb == "add":
                    c.indices[name].aliases[spec["alias"]] = {k: v for k, v in spec.items() if k == "is_write_index"}
                elif verb == "remove":
                    c.indices[name].aliases.pop(spec["alias"], None)
        self._reply(200, {"acknowledged": True})

    def _bulk(self, raw: bytes) -> None:
        c = self.cluster
        c.bulk_requests += 1
        c.bulk_bodies.append(len(raw))
        step = c.bulk_plan.pop(0) if c.bulk_plan else ("ok",)
        lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
        pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]
        if step[0] == "reject":
            self._error(step[1], "es_rejected_execution_exception", "scripted rejection of the whole request")
            return
        limit = step[1] if step[0] == "drop" else len(pairs)
        fail = step[1] if step[0] == "fail_items" else {}
        items = []
        for action_line, body in pairs[:limit]:
            c.bulk_actions.append((action_line, body))
            ((action, meta),) = action_line.items()
            items.append(c.bulk_item(action, meta, body, fail))
        if step[0] == "drop":
            # Some documents were applied, then the connection goes away without an answer.
            self.close_connection = True
            return
        self._reply(200, {"took": 1, "errors": any("error" in next(iter(i.values())) for i in items), "items": items})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _route


class FakeElasticsearch:
    """The fake cluster served on 127.0.0.1 and an ephemeral port, in a thread."""

    def __init__(self) -> None:
        self.cluster = FakeCluster()
        handler = type("BoundHandler", (_Handler,), {"cluster": self.cluster})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeElasticsearch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    with FakeElasticsearch() as server:
        yield server


def test_the_client_accepts_the_fake_as_elasticsearch(fake_es: FakeElasticsearch) -> None:
    client = Elasticsearch(fake_es.url)
    assert client.info()["version"]["number"].startswith("9.")
    client.indices.create(index="posts-a", aliases={"posts": {}})
    assert client.indices.exists_alias(name="posts")
    assert not client.indices.exists_alias(name="other")
    client.close()


def test_mapping_violations_catch_unmapped_and_mistyped_fields() -> None:
    properties = {"a": {"type": "keyword"}, "n": {"type": "integer"}, "o": {"properties": {"d": {"type": "double"}}}}
    assert mapping_violations({"a": "x", "n": 3, "o": {"d": 0.5}}, properties) == []
    problems = mapping_violations({"a": 1.5, "b": "x", "n": 2**40, "o": {"e": 1}}, properties)
    assert problems == [
        "a: float value mapped as keyword",
        "b: not mapped (dynamic: strict)",
        "n: 1099511627776 does not fit an integer",
        "o.e: not mapped (dynamic: strict)",
    ]
