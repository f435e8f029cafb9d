"""`patrol run` (one pass, or continuous with `--interval`), `patrol retention run`, `patrol backup`,
`patrol restore`: the commands that keep the patrol running unattended."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from patrol.config import Settings, load_settings
from patrol.logs import configure_logging

if TYPE_CHECKING:
    from patrol.ops.metrics import PatrolMetrics
    from patrol.ops.passrun import PassRunner

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


def parse_scrapy_settings(pairs: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier() or name.strip().upper() != name.strip():
            raise typer.BadParameter(
                f"{pair!r}: use NAME=VALUE with an upper-case Scrapy setting name, e.g. DOWNLOAD_DELAY=1"
            )
        settings[name.strip()] = value.strip()
    return settings


# -- patrol run -----------------------------------------------------------------------------------


def run(
    interval: Annotated[
        float | None,
        typer.Option(
            help="run continuously: every source on its own schedule (its interval_s in the sources file,"
            " else this many seconds), until SIGTERM or Ctrl-C. Without it: one pass, then exit",
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="one pass, then exit (the default without --interval)")
    ] = False,
    as_json: JsonOption = False,
    sources: Annotated[Path | None, typer.Option(help="sources file (default: the setting)")] = None,
    workers: Annotated[int, typer.Option(help="sources worked at the same time")] = 2,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve /metrics, /healthz and /readyz on this port (continuous mode)")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="address the metrics endpoint listens on")] = "127.0.0.1",
    scrapy_setting: Annotated[
        list[str] | None,
        typer.Option(
            "--scrapy-setting", "-s", help="override a Scrapy setting for the crawls, NAME=VALUE (repeatable)"
        ),
    ] = None,
    stop_after: Annotated[
        float | None,
        typer.Option(help="continuous mode: stop cleanly after this many seconds (trials, benchmarks)"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run a pass over the configured sources, or keep running them (`--interval`)."""
    from crawlers.sources import load_sources
    from patrol.ops.faults import arm_statement_kill_points
    from patrol.ops.logcontext import install_pass_context
    from patrol.ops.metrics import PatrolMetrics, PipelineStateCollector
    from patrol.ops.passrun import PassRunner
    from patrol.runtime import Runtime

    if once and interval is not None:
        raise typer.BadParameter("give --once or --interval, not both")
    configure_logging(quiet=as_json and interval is None)
    install_pass_context()
    settings = _settings(data_dir, sources_file=sources)
    source_list = load_sources(settings.sources_file)  # a bad file fails here, before anything starts
    runtime = Runtime(settings)
    metrics = PatrolMetrics()
    stop = threading.Event()
    runner = PassRunner(
        runtime,
        scrapy_settings=parse_scrapy_settings(scrapy_setting or []),
        metrics=metrics,
        stop=stop,
        workers=workers,
    )
    arm_statement_kill_points(runtime)
    try:
        if interval is None:
            summary = runner.run_pass(source_list)
            if as_json:
                _print_json(summary.model_dump(mode="json") | {"errors": summary.errors})
            else:
                from patrol.cli import print_pass_summary

                print_pass_summary(summary)
            return
        metrics.add_state_collector(PipelineStateCollector(settings.sqlite_path, runtime.workflow))
        _run_continuously(runner, settings, interval, metrics, metrics_host, metrics_port, stop_after)
    finally:
        runtime.close()


def _run_continuously(
    runner: PassRunner,
    settings: Settings,
    interval: float,
    metrics: PatrolMetrics,
    metrics_host: str,
    metrics_port: int | None,
    stop_after: float | None,
) -> None:
    from patrol.ops.health import HealthProbe, scheduler_checks, standard_checks
    from patrol.ops.http import OpsHttpServer
    from patrol.ops.scheduler import ContinuousScheduler
    from patrol.ops.signals import GracefulStop

    scheduler = ContinuousScheduler(runner, settings.sources_file, default_interval_s=interval)
    live, ready = scheduler_checks(
        scheduler.seconds_since_heartbeat, runner.stop.is_set, stuck_after_s=max(120.0, 20 * scheduler.tick_s)
    )
    probe = HealthProbe([*standard_checks(settings, runner.runtime.workflow), ready], [live])
    server = (
        OpsHttpServer(probe, metrics.exposition, host=metrics_host, port=metrics_port).start()
        if metrics_port is not None
        else None
    )
    if server is not None:
        console.print(f"metrics and health on {server.url}/metrics /healthz /readyz", highlight=False)
    deadline = time.monotonic() + stop_after if stop_after is not None else None
    signals = GracefulStop(runner.stop).install()
    try:
        scheduler.run(until=(lambda: time.monotonic() >= deadline) if deadline is not None else None)
    finally:
        signals.restore()
        if server is not None:
            with contextlib.suppress(Exception):
                server.stop()


# -- patrol retention ----------------------------------------------------------------------------

retention_app = typer.Typer(help="Remove what the retention policy says is old enough.", no_args_is_help=True)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be removed; change nothing")
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option(help="retention policy file (default: PATROL_RETENTION_FILE or the shipped one)"),
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Purge old posts, closed items and tasks, landing files and crawl logs; recorded in the audit log."""
    from patrol.ops.purge import apply_retention
    from patrol.ops.retention import load_retention_policy, plan_retention, policy_file
    from patrol.runtime import Runtime
    from patrol.schema import utcnow

    configure_logging(quiet=as_json)
    settings = _settings(data_dir)
    rules = load_retention_policy(policy or policy_file(settings))
    runtime = Runtime(settings)
    try:
        plan = plan_retention(settings, runtime.workflow, rules, now=utcnow())
        if dry_run:
            payload: dict[str, object] = {
                "dry_run": True,
                "cutoffs": plan.cutoffs.model_dump(mode="json"),
                "would_remove": plan.counts(),
            }
        else:
            outcome = apply_retention(settings, runtime.store, runtime.workflow, plan, rules)
            payload = {
                "dry_run": False,
                "cutoffs": plan.cutoffs.model_dump(mode="json"),
                **outcome.model_dump(),
            }
    finally:
        runtime.close()
    if as_json:
        _print_json(payload)
        return
    title = "would remove" if dry_run else "removed"
    counts = plan.counts() if dry_run else payload.get("removed", {})
    assert isinstance(counts, dict)
    for key, value in counts.items():
        console.print(f"{title} {key}: [bold]{value}[/bold]", highlight=False)
    for key, cutoff in plan.cutoffs.model_dump().items():
        console.print(f"  cut-off {key}: {cutoff:%Y-%m-%d %H:%M} UTC", highlight=False)
    if not dry_run:
        console.print(f"recorded in the audit log, row {payload.get('audit_seq')}", highlight=False)
        skipped = payload.get("skipped_sources")
        if skipped:
            console.print(f"[yellow]sources busy, landing files left for the next run: {skipped}[/yellow]")


# -- patrol backup / restore -----------------------------------------------------------------------


def backup(
    to: Annotated[
        Path | None, typer.Option("--to", help="folder for the archive (default: backups/ beside the data)")
    ] = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Back up the databases (online, while passes run), landing files, models and configuration."""
    from patrol.ops.backup import BackupError, create_backup, read_manifest

    settings = _settings(data_dir)
    try:
        archive = create_backup(settings, to)
    except BackupError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    manifest = read_manifest(archive)
    if as_json:
        _print_json(
            {
                "archive": str(archive),
                "files": len(manifest.files),
                "counts": manifest.counts.model_dump(),
                "workflow_database": manifest.workflow_database,
            }
        )
        return
    console.print(
        f"backup written: [bold]{escape(str(archive))}[/bold] ({len(manifest.files)} files,"
        f" {manifest.counts.posts} posts, {manifest.counts.review_items} review items)",
        highlight=False,
    )
    if manifest.workflow_database == "external":
        console.print(
            "[yellow]the workflow database is PostgreSQL: back it up with pg_dump (docs/deploy.md)[/yellow]"
        )


def restore(
    archive: Annotated[Path, typer.Argument(help="a patrol-backup-*.tar.gz written by `patrol backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="the data folder is not empty: move it aside, then restore")
    ] = False,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Restore a backup into the data folder, verify checksums, database integrity and the audit chain."""
    from patrol.ops.backup import BackupError, restore_backup

    settings = _settings(data_dir)
    try:
        report = restore_backup(archive, settings, force=force)
    except BackupError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        _print_json(report.model_dump())
    else:
        console.print(
            f"restored {report.files} files into [bold]{escape(report.data_dir)}[/bold]", highlight=False
        )
        if report.moved_aside:
            console.print(f"the previous folder is at {escape(report.moved_aside)}", highlight=False)
        console.print(
            f"posts {report.counts.posts}, review items {report.counts.review_items}, audit chain"
            f" {'verified' if report.audit_ok else '[red]BROKEN[/red]'}",
            highlight=False,
        )
        for original, copy in report.config.items():
            console.print(f"config {escape(original)} restored as {escape(copy)}", highlight=False)
    if not (report.audit_ok and report.integrity_ok):
        raise typer.Exit(1)


# -- standalone entry point (`python -m patrol.commands.ops ...`), used by the fault-injection tests ----

app = typer.Typer(help="opinion-patrol operations: run, retention, backup, restore.", no_args_is_help=True)
app.command(name="run")(run)
app.add_typer(retention_app, name="retention")
app.command(name="backup")(backup)
app.command(name="restore")(restore)


def main() -> None:
    from crawlers.sources import SourcesFileError
    from patrol.datafiles import ConfigFileError

    try:
        app()
    except (ConfigFileError, SourcesFileError) as exc:
        console.print(f"[red]configuration error[/red]\n{escape(str(exc))}")
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
