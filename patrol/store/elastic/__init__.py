"""The Elasticsearch post store: monthly indices behind aliases, bulk upserts that lose nothing.

`layout` names the indices and aliases, `documents` builds what is indexed, `bulk` sends it and
accounts for every document, `dead_letters` keeps what the cluster refused, `store` keeps the
`PostStore` contract. The templates and the ILM policy are JSON files in `es_mappings/`.
"""

from patrol.store.elastic.bulk import BulkSettings
from patrol.store.elastic.dead_letters import DeadLetter, DeadLetterFile
from patrol.store.elastic.documents import bulk_lines, post_document
from patrol.store.elastic.layout import (
    MAPPINGS_DIR,
    AliasState,
    ElasticStoreError,
    IndexNames,
    mapping_version,
)
from patrol.store.elastic.store import ElasticPostStore

__all__ = [
    "MAPPINGS_DIR",
    "AliasState",
    "BulkSettings",
    "DeadLetter",
    "DeadLetterFile",
    "ElasticPostStore",
    "ElasticStoreError",
    "IndexNames",
    "bulk_lines",
    "mapping_version",
    "post_document",
]
