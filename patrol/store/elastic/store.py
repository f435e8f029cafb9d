"""The Elasticsearch post store: the contract the SQLite store keeps, on monthly indices and aliases.

Each upsert is a scripted update that compares a content hash, so the result says created / updated /
noop just as the SQLite store says inserted / updated / unchanged. Nothing is lost silently: a document
the cluster does not take goes to a dead-letter file with the reason, and the next upsert call sends it
again along with its own documents; `UpsertResult` counts both (`retried`).

Scheme matches live on the post as `scheme_ids` (keyword, mapping v2): `record_scheme_matches` adds
them with scripted updates, and every write of a post brings the ids the `scheme_ids` lookup knows
(the SQLite store's), while the upsert script keeps those already there.
"""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from patrol.schema import AnalysedPost
from patrol.store.base import (
    REPORT_TIMEZONE,
    HistogramInterval,
    QueryTokenizer,
    SchemeIdLookup,
    SchemeMatchResult,
    SearchFilters,
    SearchHit,
    SearchPage,
    SentimentSummary,
    TermBucket,
    TermsField,
    TimeBucket,
    UpsertResult,
)
from patrol.store.elastic.bulk import (
    RETRYABLE_STATUSES,
    BulkOutcome,
    BulkSender,
    BulkSettings,
    PendingDocument,
    UpsertAccount,
    fail,
)
from patrol.store.elastic.dead_letters import DeadLetterFile
from patrol.store.elastic.documents import (
    analysed_post_from_source,
    bulk_lines,
    post_document,
    scheme_update_lines,
)
from patrol.store.elastic.layout import (
    DEFAULT_PREFIX,
    MAPPINGS_DIR,
    AliasState,
    ElasticStoreError,
    IndexNames,
    load_retention_policy,
    mapping_version,
    month_of,
    template_request,
)
from patrol.store.elastic.scheme_matches import SchemeMatchAccount, SchemeUpdate
from patrol.store.snippets import make_snippet
from patrol.thresholds import Thresholds

log = logging.getLogger("patrol.store.elastic")

_MARKED = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)
_TERMS_FIELDS: dict[str, str] = {
    "jurisdiction": "analysis.jurisdiction",
    "sentiment_label": "analysis.sentiment_label",
    "keywords": "analysis.keywords",
}
_HIT_FIELDS = [
    "id",
    "source_id",
    "url",
    "author",
    "published_at",
    "title",
    "thread_title",
    "text",
    "max_risk",
    "top_category",
    "analysis.jurisdiction",
]
#: Post ids per lookup of the indices holding them.
_LOOKUP_CHUNK = 500


class ElasticPostStore:
    """Posts in Elasticsearch, keeping the contract the SQLite store keeps."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        dead_letter_path: Path,
        tokenize: QueryTokenizer | None = None,
        thresholds: Thresholds | None = None,
        prefix: str = DEFAULT_PREFIX,
        refresh: bool = True,
        bulk: BulkSettings | None = None,
        mappings_dir: Path = MAPPINGS_DIR,
        scheme_ids: SchemeIdLookup | None = None,
    ) -> None:
        """`scheme_ids` tells the schemes recorded for posts (the SQLite store's `scheme_ids_of`): every
        document written then carries them, so a post indexed late or copied by `patrol reindex` is
        still found by scheme."""
        self._client = client
        self.names = IndexNames(prefix)
        self.dead_letters = DeadLetterFile(dead_letter_path)
        self.thresholds = thresholds or Thresholds.model_validate({})
        self._tokenize: QueryTokenizer = tokenize or (lambda text: text.split())
        # refresh=True makes a write visible to the next search (the contract); bulk loads pass False.
        self.bulk = bulk or BulkSettings()
        self._sender = BulkSender(client, self.bulk, refresh=refresh)
        self.mappings_dir = mappings_dir
        self.version = mapping_version(mappings_dir)
        self._set_up = False
        self._months: set[str] = set()
        self._scheme_ids = scheme_ids

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        dead_letter_path: Path,
        request_timeout: float = 30.0,
        ca_certs: str | None = None,
        **options: Any,
    ) -> ElasticPostStore:
        """A store on a new client. Credentials may ride in the URL: http://elastic:secret@host:9200."""
        tls: dict[str, Any] = {"ca_certs": ca_certs} if ca_certs else {}
        client = Elasticsearch(
            url,
            request_timeout=request_timeout,
            # The bulk path retries with backoff itself and accounts for every document; the
            # transport's own immediate retries would hide failures from that account.
            max_retries=0,
            retry_on_timeout=False,
            **tls,
        )
        return cls(client, dead_letter_path=dead_letter_path, **options)

    @property
    def client(self) -> Elasticsearch:
        return self._client

    @property
    def _reader(self) -> Elasticsearch:
        # Reads are idempotent, so they may retry a busy or briefly unreachable node.
        return self._client.options(max_retries=3, retry_on_status=tuple(sorted(RETRYABLE_STATUSES)))

    # -- setup --------------------------------------------------------------------------------

    def ensure_setup(self) -> None:
        """Install the ILM policy and this mapping version's index template (idempotent)."""
        if self._set_up:
            return
        policy = load_retention_policy(self.mappings_dir)["policy"]
        self._client.ilm.put_lifecycle(name=self.names.policy, policy=policy)
        self._client.indices.put_index_template(**template_request(self.names, self.version, self.mappings_dir))
        self._set_up = True

    def _ensure_month(self, month: str) -> None:
        if month in self._months:
            return
        alias = self.names.write_alias(month)
        if not self._client.indices.exists_alias(name=alias):
            self.ensure_setup()
            index = self.names.index(self.version, month)
            try:
                self._client.indices.create(
                    index=index, aliases={self.names.read_alias: {}, alias: {"is_write_index": True}}
                )
            except ApiError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
                # Another writer created it first, aliases included, unless a reindex is half-way.
                if not self._client.indices.exists_alias(name=alias):
                    raise ElasticStoreError(
                        f"index {index} exists without the write alias {alias}: a reindex stopped half-way;"
                        " run `patrol reindex` again to finish it"
                    ) from exc
        self._months.add(month)

    # -- writes -------------------------------------------------------------------------------

    def upsert(self, posts: Sequence[AnalysedPost], *, overwrite: bool = True) -> UpsertResult:
        """Index `posts` and every earlier dead letter; each document is counted exactly once.

        overwrite=False writes only documents the index does not hold yet (a reindex must not replace
        what the live pipeline wrote meanwhile); one that exists counts as unchanged.
        """
        result = UpsertResult()
        outcome = BulkOutcome()
        with self.dead_letters.claim() as claimed:
            current = {item.post.id for item in posts}
            documents = [PendingDocument(item=item, overwrite=overwrite) for item in posts]
            # A post given again in this call supersedes its letter: sending both would count it twice.
            waiting = sorted(
                (letter for letter in claimed.letters if letter.post_id not in current),
                key=lambda letter: letter.first_failed_at,
            )
            later = waiting[self.bulk.dead_letters_per_call :]
            outcome.letters.extend(later)  # untouched: written back as they were
            for letter in waiting[: self.bulk.dead_letters_per_call]:
                result.retried += 1
                try:
                    item = letter.analysed_post()
                except ValueError as exc:
                    result.failed += 1
                    result.failures.append(f"{letter.post_id}: dead letter unreadable: {exc}")
                    outcome.letters.append(letter.failed_again(f"unreadable: {exc}"))
                    continue
                documents.append(PendingDocument(item=item, overwrite=letter.overwrite, previous=letter))
            self._sender.send(self._prepare(documents, result, outcome), UpsertAccount(result, outcome))
            claimed.still_failing = outcome.letters
        if outcome.missing_index:
            self._months.clear()  # an index went away under us: look again on the next call
        if result.failed:
            log.warning(
                "documents dead-lettered",
                extra={"failed": result.failed, "dead_letter_file": str(self.dead_letters.path)},
            )
        return result

    def _prepare(
        self, documents: Sequence[PendingDocument], result: UpsertResult, outcome: BulkOutcome
    ) -> list[PendingDocument]:
        ready: list[PendingDocument] = []
        month_errors: dict[str, str] = {}
        known = self._scheme_ids([entry.item.post.id for entry in documents]) if self._scheme_ids else {}
        for entry in documents:
            month = month_of(entry.item.post.published_at)
            if month not in self._months and month not in month_errors:
                try:
                    self._ensure_month(month)
                except (ApiError, TransportError, ElasticStoreError) as exc:
                    month_errors[month] = f"index for {month} unavailable: {exc}"
            if month in month_errors:
                fail(entry, month_errors[month], result, outcome)
                continue
            try:
                doc = post_document(entry.item, self._tokenize, self.thresholds, known.get(entry.item.post.id, ()))
                entry.lines = bulk_lines(self.names.write_alias(month), doc, overwrite=entry.overwrite)
            except (ValueError, UnicodeError) as exc:  # NaN scores, unencodable text: this document only
                fail(entry, f"cannot serialise: {exc}", result, outcome)
                continue
            ready.append(entry)
        return ready

    def record_scheme_matches(self, matches: Sequence[tuple[str, str]]) -> SchemeMatchResult:
        """Add each scheme id to its post's `scheme_ids`; see `PostStore.record_scheme_matches`.

        A post is found by a search (visible once refreshed: the live store writes with refresh) in any
        of our indices, then updated through its month's write alias, so during a migration the update
        goes to the new index. Nothing is dead-lettered: SQLite keeps every pair (see scheme_matches).
        """
        result = SchemeMatchResult()
        pairs = list(dict.fromkeys(matches))
        if not pairs:
            return result
        try:
            months = self._months_of([post_id for post_id, _ in pairs])
        except (ApiError, TransportError) as exc:
            result.failed = len(pairs)
            result.failures = [f"{post}: scheme {scheme}: unreachable: {exc}" for post, scheme in pairs]
            return result
        updates: list[SchemeUpdate] = []
        for post_id, scheme_id in pairs:
            month = months.get(post_id)
            if month is None:
                result.missing += 1
                continue
            target = self.names.write_alias(month)
            updates.append(SchemeUpdate(post_id, scheme_id, scheme_update_lines(target, post_id, scheme_id)))
        self._sender.send(updates, SchemeMatchAccount(result))
        if result.failed:
            log.warning("scheme matches not recorded", extra={"failed": result.failed})
        return result

    def _months_of(self, post_ids: Sequence[str]) -> dict[str, str]:
        """Post id -> the month of the index holding it, for the posts one of our indices holds."""
        months: dict[str, str] = {}
        unique = list(dict.fromkeys(post_ids))
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[start : start + _LOOKUP_CHUNK]
            # Every version's indices: during a migration a post may so far be in the new one only.
            response = self._reader.search(
                index=self.names.pattern(),
                query={"ids": {"values": chunk}},
                collapse={"field": "id"},
                size=len(chunk),
                source=False,
                ignore_unavailable=True,
                allow_no_indices=True,
                filter_path="hits.hits._index,hits.hits._id",
            )
            for hit in response.body.get("hits", {}).get("hits", []):
                parsed = self.names.parse_index(hit["_index"])
                if parsed is not None:
                    months[hit["_id"]] = parsed[1]
        return months

    # -- reads --------------------------------------------------------------------------------

    @staticmethod
    def _filters(filters: SearchFilters | None) -> list[dict[str, Any]]:
        if filters is None:
            return []
        clauses: list[dict[str, Any]] = []
        if filters.sources:
            clauses.append({"terms": {"source_id": filters.sources}})
        if filters.categories:
            clauses.append({"terms": {"flagged_categories": filters.categories}})
        if filters.jurisdictions:
            clauses.append({"terms": {"analysis.jurisdiction": filters.jurisdictions}})
        if filters.schemes:
            clauses.append({"terms": {"scheme_ids": filters.schemes}})
        published: dict[str, str] = {}
        if filters.since is not None:
            published["gte"] = filters.since.isoformat()
        if filters.until is not None:
            published["lt"] = filters.until.isoformat()
        if published:
            clauses.append({"range": {"published_at": published}})
        risk: dict[str, float] = {}
        if filters.min_risk is not None:
            risk["gte"] = filters.min_risk
        if filters.max_risk is not None:
            risk["lte"] = filters.max_risk
        if risk:
            clauses.append({"range": {"max_risk": risk}})
        return clauses

    def _query(self, filters: SearchFilters | None, tokens: Sequence[str] = ()) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        if tokens:
            # Every token in the title or the body, as the SQLite store's FTS5 query (implicit AND).
            must.append(
                {
                    "multi_match": {
                        "query": " ".join(tokens),
                        "fields": ["title_tokens", "analysis.tokens"],
                        "type": "cross_fields",
                        "operator": "and",
                    }
                }
            )
        return {"bool": {"must": must, "filter": self._filters(filters)}}

    def _search(self, **body: Any) -> dict[str, Any]:
        response = self._reader.search(
            index=self.names.read_alias, ignore_unavailable=True, allow_no_indices=True, **body
        )
        return dict(response.body)

    def get(self, post_id: str) -> AnalysedPost | None:
        hits = self._search(query={"ids": {"values": [post_id]}}, size=1)["hits"]["hits"]
        return analysed_post_from_source(hits[0]["_source"]) if hits else None

    def search(
        self, query: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> SearchPage:
        tokens = [t for t in self._tokenize(query) if t.strip()]
        body: dict[str, Any] = {
            "query": self._query(filters, tokens),
            "from_": offset,
            "size": limit,
            "track_total_hits": True,
            "source_includes": _HIT_FIELDS,
            "sort": [{"published_at": "desc"}, {"id": "asc"}],  # the id settles ties, as in SQLite
        }
        if tokens:
            body["sort"] = ["_score", {"published_at": "desc"}, {"id": "asc"}]
            body["highlight"] = {
                "fields": {
                    "analysis.tokens": {"number_of_fragments": 0},
                    "title_tokens": {"number_of_fragments": 0},
                },
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "encoder": "html",
            }
        found = self._search(**body)["hits"]
        return SearchPage(total=int(found["total"]["value"]), hits=[self._hit(hit, tokens) for hit in found["hits"]])

    @staticmethod
    def _hit(hit: dict[str, Any], tokens: list[str]) -> SearchHit:
        src = hit["_source"]
        # The highlighter says which tokens matched; the snippet is cut from the original text by the
        # function the SQLite store uses (escaped, only our own <mark>), so both show the same.
        marked = [
            html.unescape(term)
            for fragments in hit.get("highlight", {}).values()
            for fragment in fragments
            for term in _MARKED.findall(fragment)
        ]
        return SearchHit(
            post_id=src["id"],
            source_id=src["source_id"],
            url=src["url"],
            author=src.get("author"),
            published_at=datetime.fromisoformat(src["published_at"]),
            title=src.get("title") or src.get("thread_title"),
            snippet_html=make_snippet(src["text"], marked or tokens),
            score=float(hit["sort"][0]) if tokens else 0.0,
            max_risk=float(src["max_risk"]),
            top_category=src.get("top_category"),
            jurisdiction=src.get("analysis", {}).get("jurisdiction"),
        )

    def count(self, filters: SearchFilters | None = None) -> int:
        response = self._reader.count(
            index=self.names.read_alias,
            query=self._query(filters),
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        return int(response.body["count"])

    # -- aggregations -------------------------------------------------------------------------

    def _aggregate(self, filters: SearchFilters | None, aggs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = self._search(query=self._query(filters), size=0, track_total_hits=True, aggs=aggs)
        return int(body["hits"]["total"]["value"]), body.get("aggregations", {})

    def _terms(self, es_field: str, filters: SearchFilters | None, limit: int) -> list[TermBucket]:
        order = [{"_count": "desc"}, {"_key": "asc"}]
        _, found = self._aggregate(filters, {"values": {"terms": {"field": es_field, "size": limit, "order": order}}})
        return [
            TermBucket(key=str(b["key"]), count=int(b["doc_count"])) for b in found.get("values", {}).get("buckets", [])
        ]

    def top_keywords(self, limit: int = 20, filters: SearchFilters | None = None) -> list[tuple[str, int]]:
        return [(b.key, b.count) for b in self._terms("analysis.keywords", filters, limit)]

    def terms(self, field: TermsField, filters: SearchFilters | None = None, *, limit: int = 10) -> list[TermBucket]:
        return self._terms(_TERMS_FIELDS.get(field, field), filters, limit)

    def histogram(
        self,
        interval: HistogramInterval = "day",
        filters: SearchFilters | None = None,
        *,
        timezone: str = REPORT_TIMEZONE,
    ) -> list[TimeBucket]:
        zone = ZoneInfo(timezone)
        histogram = {"field": "published_at", "calendar_interval": interval, "time_zone": timezone}
        aggs = {
            "over_time": {
                "date_histogram": histogram,
                "aggs": {"sentiment": {"avg": {"field": "analysis.sentiment"}}},
            }
        }
        _, found = self._aggregate(filters, aggs)
        return [
            TimeBucket(
                start=datetime.fromtimestamp(b["key"] / 1000, tz=zone),
                count=int(b["doc_count"]),
                mean_sentiment=b["sentiment"]["value"] if b["doc_count"] else None,
            )
            for b in found.get("over_time", {}).get("buckets", [])
        ]

    def sentiment(self, filters: SearchFilters | None = None) -> SentimentSummary:
        aggs = {
            "mean": {"avg": {"field": "analysis.sentiment"}},
            "labels": {"terms": {"field": "analysis.sentiment_label", "size": 50}},
        }
        total, found = self._aggregate(filters, aggs)
        labels = {str(b["key"]): int(b["doc_count"]) for b in found.get("labels", {}).get("buckets", [])}
        mean = found.get("mean", {}).get("value") if total else None
        return SentimentSummary(total=total, mean=mean, by_label=dict(sorted(labels.items())))

    # -- retention ----------------------------------------------------------------------------

    def delete_older_than(self, cutoff: datetime) -> int:
        """Drop the months that end before `cutoff` whole, then the older posts of the month it cuts."""
        removed = 0
        cutoff_month = month_of(cutoff)
        state = self.alias_state()
        for index, (_version, month) in state.indices.items():
            if month < cutoff_month:
                if index in state.readable:  # indices an old reindex left behind hold copies, not posts
                    removed += int(self._client.count(index=index).body["count"])
                self._client.indices.delete(index=index)
                self._months.discard(month)
        response = self._client.delete_by_query(
            index=self.names.read_alias,
            query={"range": {"published_at": {"lt": cutoff.isoformat()}}},
            conflicts="proceed",
            refresh=True,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        return removed + int(response.body.get("deleted", 0))

    # -- layout, for `patrol reindex` ---------------------------------------------------------

    def alias_state(self) -> AliasState:
        response = self._client.indices.get_alias(
            index=self.names.pattern(), ignore_unavailable=True, allow_no_indices=True
        )
        state = AliasState()
        for index, entry in response.body.items():
            parsed = self.names.parse_index(index)
            if parsed is None:
                continue
            state.indices[index] = parsed
            version, month = parsed
            aliases = entry.get("aliases", {})
            if self.names.read_alias in aliases:
                state.read_versions.add(version)
                state.readable.add(index)
            if self.names.write_alias(month) in aliases:
                state.write_versions[month] = version
        return state

    def prepare_version(self, months: Iterable[str]) -> list[str]:
        """Create this version's index for each month, without aliases; returns those it created."""
        self.ensure_setup()
        created: list[str] = []
        for month in sorted(set(months)):
            index = self.names.index(self.version, month)
            if not self._client.indices.exists(index=index):
                self._client.indices.create(index=index)
                created.append(index)
        return created

    def switch_writes(self, months: Iterable[str]) -> None:
        """Point each month's write alias at this version's index, all in one atomic alias update."""
        actions: list[dict[str, Any]] = []
        for month in sorted(set(months)):
            alias = self.names.write_alias(month)
            index = self.names.index(self.version, month)
            actions.append({"remove": {"index": self.names.pattern(), "alias": alias, "must_exist": False}})
            actions.append({"add": {"index": index, "alias": alias, "is_write_index": True}})
        if actions:
            self._client.indices.update_aliases(actions=actions)
        self._months.clear()

    def switch_reads(self) -> None:
        """Move the read alias from every other version to this one, in one atomic alias update."""
        alias = self.names.read_alias
        self._client.indices.update_aliases(
            actions=[
                {"remove": {"index": self.names.pattern(), "alias": alias, "must_exist": False}},
                {"add": {"index": self.names.pattern(self.version), "alias": alias}},
            ]
        )

    def document_counts(self) -> dict[str, int]:
        """Documents in each of our monthly indices, every version (for the reindex report)."""
        self._client.indices.refresh(index=self.names.pattern(), ignore_unavailable=True, allow_no_indices=True)
        counts: Counter[str] = Counter()
        for index in self.alias_state().indices:
            counts[index] = int(self._client.count(index=index).body["count"])
        return dict(sorted(counts.items()))

    def delete_prefix(self) -> list[str]:
        """Delete every index, the template and the ILM policy under this store's prefix (for tests and
        benchmarks on a scratch prefix). Indices go by name: clusters refuse wildcard deletes."""
        indices = sorted(self.alias_state().indices)
        if indices:
            self._client.indices.delete(index=",".join(indices))
        for version in range(1, self.version + 1):
            self._client.options(ignore_status=404).indices.delete_index_template(name=self.names.template(version))
        self._client.options(ignore_status=404).ilm.delete_lifecycle(name=self.names.policy)
        self._months.clear()
        self._set_up = False
        return indices

    def close(self) -> None:
        self._client.close()
