"""`patrol reindex`: load Elasticsearch from the SQLite store (or the landing batches), and roll out a
mapping change with no downtime.

When the aliases point at an older mapping version than the newest `es_mappings/posts.v<N>.json`:

1. create the new version's index for every month, without aliases;
2. move every month's write alias to the new index in one atomic alias update: the live pipeline
   writes there from this instant;
3. copy every post in create-only mode, so nothing the pipeline wrote meanwhile is replaced by an
   older copy;
4. move the read alias in one atomic alias update: searches are served by the old indices until then.

A run that stops half-way (or leaves dead letters) does not switch reads; running it again finishes
it. When the aliases already point at the newest version, the command upserts every post: a repair
that costs little where nothing changed (the content-hash check makes those no-ops).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from pydantic import BaseModel, Field
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patrol.config import load_settings
from patrol.schema import AnalysedPost
from patrol.store.base import UpsertResult
from patrol.store.elastic import ElasticPostStore
from patrol.store.sqlite import SqlitePostStore

if TYPE_CHECKING:
    from patrol.runtime import Runtime

console = Console()


class ReindexSource(StrEnum):
    sqlite = "sqlite"
    landing = "landing"


class ReindexReport(BaseModel):
    mode: Literal["load", "migrate"] = Field(description="load: same mapping version; migrate: a new one")
    to_version: int
    from_versions: list[int] = Field(default_factory=list)
    posts: int = 0
    result: UpsertResult = Field(default_factory=UpsertResult)
    created_indices: list[str] = Field(default_factory=list)
    reads_switched: bool = False
    old_indices: list[str] = Field(default_factory=list, description="other versions' indices left in place")
    deleted_indices: list[str] = Field(default_factory=list)
    documents: dict[str, int] = Field(default_factory=dict, description="documents per index afterwards")


def _add(total: UpsertResult, part: UpsertResult) -> None:
    total.inserted += part.inserted
    total.updated += part.updated
    total.unchanged += part.unchanged
    total.failed += part.failed
    total.retried += part.retried
    total.failures.extend(part.failures[: 100 - len(total.failures)])  # a sample; the rest is in the file


def run_reindex(
    store: ElasticPostStore,
    batches: Iterable[Sequence[AnalysedPost]],
    *,
    delete_old: bool = False,
    overwrite: bool | None = None,
) -> ReindexReport:
    """Write every post of `batches` into the store's mapping version; see the module docstring.

    overwrite=None: create-only while migrating, upserts otherwise. Pass True when the same post can
    come more than once, oldest first (landing batches), so its latest version wins.
    """
    state = store.alias_state()
    aliased = state.read_versions | set(state.write_versions.values())
    migrating = bool(aliased - {store.version})
    report = ReindexReport(
        mode="migrate" if migrating else "load", to_version=store.version, from_versions=sorted(aliased)
    )
    if migrating:
        report.created_indices = store.prepare_version(state.months)
        store.switch_writes(state.months)
    for batch in batches:  # read only now: writes are already on the new indices
        report.posts += len(batch)
        _add(report.result, store.upsert(batch, overwrite=not migrating if overwrite is None else overwrite))
    store.client.indices.refresh(index=store.names.pattern(store.version), ignore_unavailable=True)
    if migrating and report.result.failed == 0:
        store.switch_reads()
        report.reads_switched = True
    after = store.alias_state()
    report.old_indices = sorted(i for i, (v, _) in after.indices.items() if v != store.version)
    if delete_old and report.old_indices and not (after.read_versions - {store.version}):
        store.client.indices.delete(index=",".join(report.old_indices))
        report.deleted_indices, report.old_indices = report.old_indices, []
    report.documents = store.document_counts()
    return report


def sqlite_batches(path: Path, batch_size: int) -> Iterator[list[AnalysedPost]]:
    store = SqlitePostStore(path)
    try:
        yield from store.iter_posts(batch_size)
    finally:
        store.close()


def landing_batches(runtime: Runtime) -> Iterator[list[AnalysedPost]]:
    """Every landing batch through the analyse stage (its stored output when already analysed)."""
    from patrol.stages import analyse_batch, discover_landing_batches, read_analysed

    for landing in discover_landing_batches(runtime):
        yield read_analysed(analyse_batch(runtime, landing))


def _print(report: ReindexReport, dead_letters: Path) -> None:
    result = report.result
    versions = ", ".join(f"v{v}" for v in report.from_versions) or "none"
    console.print(f"{report.mode}: aliases on {versions} -> v{report.to_version}; posts read {report.posts}")
    console.print(
        f"created {result.inserted}, updated {result.updated}, unchanged {result.unchanged},"
        f" dead letters retried {result.retried}, [bold]failed {result.failed}[/bold]"
    )
    table = Table(title="documents per index")
    table.add_column("index")
    table.add_column("documents", justify="right")
    for index, count in report.documents.items():
        table.add_row(escape(index), str(count))
    console.print(table)
    if report.mode == "migrate" and not report.reads_switched:
        console.print(
            f"[red]reads still on the old indices[/red]: {result.failed} posts wait in"
            f" {escape(str(dead_letters))}; fix the cause (see the reasons there), then run"
            " `patrol reindex` again to finish"
        )
    if report.old_indices:
        console.print(
            "old indices kept (no alias points at them): "
            + escape(", ".join(report.old_indices))
            + "\ndelete them with `patrol reindex --delete-old` once the new ones look right"
        )


def reindex(
    source: Annotated[
        ReindexSource, typer.Option("--from", help="sqlite: the embedded store; landing: the landing batches")
    ] = ReindexSource.sqlite,
    delete_old: Annotated[
        bool, typer.Option("--delete-old", help="delete other versions' indices once reads have moved")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="posts per bulk upsert call")] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="where the database and files live")] = None,
) -> None:
    """Load Elasticsearch from SQLite or the landing batches; roll out a new mapping with no downtime."""
    from patrol.runtime import Runtime
    from patrol.store.factory import dead_letter_path, open_elastic_store

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    if settings.es_url is None:
        console.print(
            "[red]PATROL_ES_URL is not set[/red]: point it at the cluster, e.g. http://elastic:<password>@localhost:9200"
        )
        raise typer.Exit(2)
    runtime = Runtime(settings)
    # The title is tokenised as the SQLite store did; bulk loads skip the per-request refresh.
    store = open_elastic_store(settings, runtime.query_tokens, runtime.thresholds, refresh=False)
    try:
        if source is ReindexSource.sqlite:
            report = run_reindex(store, sqlite_batches(settings.sqlite_path, batch_size), delete_old=delete_old)
        else:
            # A post re-crawled with new text sits in several batches; the latest must win, so these
            # are upserts even while migrating: pause the ingest DAG for a landing-file migration.
            report = run_reindex(store, landing_batches(runtime), delete_old=delete_old, overwrite=True)
    finally:
        store.close()
        runtime.close()
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        _print(report, dead_letter_path(settings))
    if report.result.failed:
        raise typer.Exit(1)
