"""The `patrol` command line."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawlers.sources import SourcesFileError
from patrol.config import Settings, load_settings
from patrol.datafiles import ConfigFileError
from patrol.logs import configure_logging
from patrol.passes import PassSummary
from patrol.schema import CATEGORY_LABELS_ZH
from patrol.store.base import SearchFilters

app = typer.Typer(help="opinion-patrol: public-safety monitoring of public online posts.", no_args_is_help=True)
console = Console()

DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="where the database and files live")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _settings(data_dir: Path | None, **extra: object) -> Settings:
    overrides: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return load_settings(**overrides)


def _print_json(payload: object) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def print_pass_summary(summary: PassSummary) -> None:
    table = Table(title=f"pass {summary.pass_id}")
    for column in ("source", "ok", "requests", "pages", "items", "new", "errors"):
        table.add_column(column)
    for s in summary.sources:
        errors = ", ".join(sorted({e.kind for e in s.errors})) or "-"
        table.add_row(
            s.id,
            "yes" if s.ok else "[red]NO[/red]",
            str(s.requests),
            str(s.pages),
            str(s.items),
            str(s.new_items),
            escape(errors),
        )
    console.print(table)
    console.print(
        f"posts in store: [bold]{summary.posts}[/bold] (new {summary.new_posts}, updated {summary.updated_posts},"
        f" rejected rows {summary.rejected_rows}); review items: [bold]{summary.flags}[/bold] (new {summary.new_flags})"
    )
    flags = Table(title="review items by category")
    flags.add_column("category")
    flags.add_column("中文")
    flags.add_column("items", justify="right")
    for category, count in summary.flags_by_category.items():
        flags.add_row(category, CATEGORY_LABELS_ZH.get(category, ""), str(count))
    console.print(flags)
    terms = "  ".join(f"{escape(term)}({count})" for term, count in summary.top_terms)
    console.print(f"top terms: {terms}")
    if summary.scorer:
        console.print(f"risk scorer: {escape(summary.scorer)}")


@app.command()
def demo(
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
    as_json: JsonOption = False,
    threads: Annotated[int, typer.Option(help="forum threads on the demo site")] = 60,
    seed: Annotated[int, typer.Option(help="seed of the demo content")] = 7,
    port: Annotated[int, typer.Option(help="port of the demo site (0: any free port)")] = 0,
    data_dir: DataDirOption = None,
) -> None:
    """Start the bundled demo site, run one full pass against it into ./data/patrol.db, and keep it up."""
    from demo.server import DemoSite
    from patrol.demo_sources import write_demo_sources
    from patrol.passes import run_pass
    from patrol.runtime import Runtime

    configure_logging(quiet=as_json)
    # The site keeps its fixed clock (its Date header says so, and relative times resolve against
    # it): post ids derive from post times, so a real clock would make every run a new site.
    site = DemoSite(seed=seed, threads=threads)
    base_url = site.start(port=port)
    try:
        base = _settings(data_dir)
        sources_file = write_demo_sources(base.data_dir / "demo-sources.yaml", base_url, site.content)
        settings = _settings(data_dir, sources_file=sources_file)
        runtime = Runtime(settings)
        from crawlers.sources import load_sources

        summary = run_pass(runtime, load_sources(settings.sources_file))
        if as_json:
            _print_json(summary.model_dump(mode="json") | {"errors": summary.errors, "demo_url": base_url})
        else:
            console.print(f"demo site: {base_url}  database: {settings.sqlite_path}")
            print_pass_summary(summary)
        runtime.close()
        if once:
            return
        _serve_demo_console(settings)
    finally:
        site.stop()


def _serve_demo_console(settings: Settings) -> None:
    """Start the console beside the demo site, print how to use both, and wait for Ctrl-C."""
    from patrol.web import ensure_demo_users, start_console_in_thread

    logins = ensure_demo_users(settings)
    console_url, stop_console = start_console_in_thread(settings, "127.0.0.1", 0)
    try:
        console.print(f"\nconsole: [bold]{console_url}[/bold]  (demo logins, one per role)")
        for role, username, password in logins:
            console.print(f"  {role:15} {username} / {password}")
        console.print(
            "\nThe demo site and the console stay up until Ctrl-C. In another terminal, try:\n"
            "  .venv/bin/patrol search 燃气泄漏\n"
            "  .venv/bin/patrol flags\n"
            "  .venv/bin/patrol flags --category self_harm --json\n"
            "  .venv/bin/patrol sources\n"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        stop_console()


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="words to look for, e.g. 燃气泄漏")],
    source: Annotated[list[str] | None, typer.Option(help="only these sources")] = None,
    category: Annotated[list[str] | None, typer.Option(help="only posts flagged in these categories")] = None,
    jurisdiction: Annotated[list[str] | None, typer.Option(help="only these jurisdiction units")] = None,
    since: Annotated[datetime | None, typer.Option(help="published at or after (ISO 8601)")] = None,
    limit: int = 20,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Full-text search over all posts, ranked, with highlighted snippets."""
    from patrol.runtime import Runtime

    runtime = Runtime(_settings(data_dir))
    filters = SearchFilters(
        sources=source or [],
        categories=category or [],
        jurisdictions=jurisdiction or [],
        since=since.astimezone() if since else None,
    )
    # Authors are pseudonymised in everything that leaves the system; the raw handle is a
    # privileged, audited read on a flagged item in the console.
    from patrol.ops.privacy import author_pseudonyms, pseudonymise_page

    page = pseudonymise_page(runtime.store.search(query, filters, limit=limit), author_pseudonyms(runtime.settings))
    runtime.close()
    if as_json:
        _print_json(page.model_dump(mode="json"))
        return
    console.print(f"{page.total} posts match {escape(query)!s}")
    for hit in page.hits:
        console.print(
            f"[bold]{escape(hit.post_id)}[/bold] {hit.published_at:%Y-%m-%d %H:%M} {escape(hit.source_id)}"
            f" risk={hit.max_risk:.2f} {escape(hit.top_category or '')}"
        )
        console.print("  " + _marks_to_rich(hit.snippet_html))


def _marks_to_rich(snippet_html: str) -> str:
    import html

    # The snippet is escaped HTML with our own <mark> tags; show it as terminal text.
    parts = snippet_html.replace("</mark>", "<mark>").split("<mark>")
    out = []
    for index, part in enumerate(parts):
        text = escape(html.unescape(part))
        out.append(f"[reverse]{text}[/reverse]" if index % 2 else text)
    return "".join(out)


def _mount_command_groups() -> None:
    from patrol.commands import audit, extract, flags, model, ops, reindex, report, scheme, sources, workflow
    from patrol.commands import serve as serve_command

    app.add_typer(flags.app, name="flags")
    app.command(name="reindex")(reindex.reindex)
    app.add_typer(scheme.app, name="scheme")
    app.add_typer(audit.app, name="audit")
    app.add_typer(workflow.app, name="workflow")
    app.add_typer(report.app, name="report")
    app.command(name="serve")(serve_command.serve)
    app.command(name="extract")(extract.extract)
    app.command(name="run")(ops.run)
    app.add_typer(ops.retention_app, name="retention")
    app.command(name="backup")(ops.backup)
    app.command(name="restore")(ops.restore)
    app.add_typer(model.app, name="model")
    app.command(name="sources")(sources.show_sources)


_mount_command_groups()


def main() -> None:
    try:
        app()
    except (ConfigFileError, SourcesFileError) as exc:
        console.print(f"[red]configuration error[/red]\n{escape(str(exc))}")
        raise SystemExit(2) from exc
