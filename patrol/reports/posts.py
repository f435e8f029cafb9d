"""The posts a report reads, as one pandas frame, from either store.

A report needs per-post fields the aggregation contract does not give (keywords for topics,
sentiment per post, example links), so each store gets a reader that pulls only the report's
columns for a time window: one SQL query on SQLite, `search_after` pages on Elasticsearch.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pandas as pd

from patrol.config import Settings

if TYPE_CHECKING:
    from patrol.store.elastic import ElasticPostStore

#: Characters of text kept per post: enough for an example's snippet, not the whole post.
SNIPPET_CHARS = 120

POST_COLUMNS: tuple[str, ...] = (
    "id",
    "source_id",
    "kind",
    "url",
    "thread_id",
    "published_at",
    "author",
    "title",
    "snippet",
    "jurisdiction",
    "max_risk",
    "top_category",
    "flagged",
    "sentiment",
    "sentiment_label",
    "keywords",
    "simhash",
)

StoreChoice = Literal["auto", "sqlite", "elasticsearch"]


class PostFrameReader(Protocol):
    name: str

    def posts(self, since: datetime, until: datetime) -> pd.DataFrame:
        """Posts published in [since, until): the columns of POST_COLUMNS, `published_at` in UTC."""
        ...

    def close(self) -> None: ...


def empty_posts() -> pd.DataFrame:
    return finish_frame([])


def finish_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(POST_COLUMNS))
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True, format="ISO8601")
    frame["sentiment"] = frame["sentiment"].astype(float)
    frame["max_risk"] = frame["max_risk"].astype(float)
    return frame


class SqlitePostFrames:
    """Reads the embedded store's file directly, read-only, so a running pass is never blocked."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(
                f"no post database at {path}: run a pass first (patrol run, or patrol demo --once) or"
                " point --data-dir at the data folder that holds patrol.db"
            )
        self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)

    def posts(self, since: datetime, until: datetime) -> pd.DataFrame:
        query = """
            SELECT id, source_id, kind, url, thread_id, published_at, author, title,
                   substr(text, 1, ?) AS snippet, jurisdiction, max_risk, top_category,
                   flagged_categories, sentiment,
                   json_extract(analysis_json, '$.sentiment_label') AS sentiment_label,
                   json_extract(analysis_json, '$.keywords') AS keywords, simhash
            FROM posts WHERE published_at >= ? AND published_at < ?
            ORDER BY published_at, id
        """
        try:
            cursor = self._conn.execute(query, (SNIPPET_CHARS, _utc_text(since), _utc_text(until)))
        except sqlite3.OperationalError as exc:
            raise RuntimeError(f"cannot read posts from the SQLite store: {exc}; is it a patrol database?") from exc
        rows = [
            {
                "id": r[0],
                "source_id": r[1],
                "kind": r[2],
                "url": r[3],
                "thread_id": r[4],
                "published_at": r[5],
                "author": r[6],
                "title": r[7],
                "snippet": r[8],
                "jurisdiction": r[9],
                "max_risk": r[10],
                "top_category": r[11],
                "flagged": (r[12] or "").split(),
                "sentiment": r[13],
                "sentiment_label": r[14] or "neutral",
                "keywords": json.loads(r[15] or "[]"),
                "simhash": r[16],
            }
            for r in cursor
        ]
        return finish_frame(rows)

    def close(self) -> None:
        self._conn.close()


_ES_FIELDS = [
    "id",
    "source_id",
    "kind",
    "url",
    "thread_id",
    "published_at",
    "author",
    "title",
    "thread_title",
    "text",
    "max_risk",
    "top_category",
    "flagged_categories",
    "analysis.jurisdiction",
    "analysis.sentiment",
    "analysis.sentiment_label",
    "analysis.keywords",
    "analysis.simhash",
]


class ElasticPostFrames:
    """Pages through the read alias sorted by (published_at, id), so no post is skipped or read twice."""

    name = "elasticsearch"

    def __init__(self, store: ElasticPostStore, page_size: int = 5000) -> None:
        self.store = store
        self.page_size = page_size

    def _pages(self, since: datetime, until: datetime) -> Iterator[list[dict[str, Any]]]:
        window = {"gte": _utc_text(since), "lt": _utc_text(until)}
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"bool": {"filter": [{"range": {"published_at": window}}]}},
                "size": self.page_size,
                "sort": [{"published_at": "asc"}, {"id": "asc"}],
                "source_includes": _ES_FIELDS,
            }
            if after is not None:
                body["search_after"] = after
            response = self.store.client.search(
                index=self.store.names.read_alias, ignore_unavailable=True, allow_no_indices=True, **body
            )
            hits = response.body["hits"]["hits"]
            if not hits:
                return
            yield [hit["_source"] for hit in hits]
            after = hits[-1]["sort"]

    def posts(self, since: datetime, until: datetime) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for page in self._pages(since, until):
            for src in page:
                analysis = src.get("analysis") or {}
                rows.append(
                    {
                        "id": src["id"],
                        "source_id": src["source_id"],
                        "kind": src.get("kind", ""),
                        "url": src.get("url", ""),
                        "thread_id": src.get("thread_id"),
                        "published_at": src["published_at"],
                        "author": src.get("author"),
                        "title": src.get("title") or src.get("thread_title"),
                        "snippet": (src.get("text") or "")[:SNIPPET_CHARS],
                        "jurisdiction": analysis.get("jurisdiction"),
                        "max_risk": src.get("max_risk", 0.0),
                        "top_category": src.get("top_category"),
                        "flagged": list(src.get("flagged_categories") or []),
                        "sentiment": analysis.get("sentiment", 0.0),
                        "sentiment_label": analysis.get("sentiment_label") or "neutral",
                        "keywords": list(analysis.get("keywords") or []),
                        "simhash": analysis.get("simhash", 0),
                    }
                )
        return finish_frame(rows)

    def close(self) -> None:
        self.store.close()


def open_post_frames(settings: Settings, store: StoreChoice = "auto") -> PostFrameReader:
    """Elasticsearch when chosen, or on `auto` when `PATROL_ES_URL` is set; the SQLite file otherwise."""
    use_es = store == "elasticsearch" or (store == "auto" and settings.es_url is not None)
    if not use_es:
        return SqlitePostFrames(settings.sqlite_path)
    from patrol.store.factory import open_elastic_store
    from patrol.thresholds import load_thresholds

    # Reads only: the tokenizer is never called, so the NLP models are not loaded for it.
    return ElasticPostFrames(open_elastic_store(settings, str.split, load_thresholds(settings.thresholds_file)))


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
