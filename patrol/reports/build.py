"""Building the weekly report: gather the data, compute the sections, write HTML, PDF and XLSX.

    record = build_weekly_report(settings, ReportWeek.parse("2026-W47"))

The same function serves `patrol report weekly`, the Monday DAG and the tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from patrol.config import Settings
from patrol.reports.archive import ReportRecord, file_record, save_manifest, weekly_dir, write_atomically
from patrol.reports.charts import ChartRenderer
from patrol.reports.collection_data import load_crawl_runs
from patrol.reports.fonts import find_cjk_font
from patrol.reports.inputs import HISTORY_WEEKS, ReportInputs
from patrol.reports.model import WeeklyReport
from patrol.reports.posts import StoreChoice, open_post_frames
from patrol.reports.pseudonyms import AuthorNames, load_or_create_salt
from patrol.reports.render_html import RenderedChart, render_html
from patrol.reports.render_pdf import render_pdf
from patrol.reports.render_xlsx import render_xlsx
from patrol.reports.sections.coverage import coverage_section
from patrol.reports.sections.places import places_section
from patrol.reports.sections.risk import risk_section
from patrol.reports.sections.schemes import SchemeActivity, load_scheme_activity, scheme_section
from patrol.reports.sections.sentiment import sentiment_section
from patrol.reports.sections.summary import headline_figures, pick_key_findings, summary_section
from patrol.reports.sections.topics import topics_section
from patrol.reports.sections.volume import volume_section
from patrol.reports.topics import TopicSettings, detect_topics
from patrol.reports.week import ReportWeek
from patrol.reports.workflow_data import load_workflow_frames
from patrol.schema import utcnow
from patrol.workflow.db import WorkflowDb

FORMATS: tuple[str, ...] = ("html", "pdf", "xlsx")
log = logging.getLogger("patrol.reports")


class ReportFormatError(ValueError):
    pass


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """`html,pdf` -> ("html", "pdf"), in the canonical order; unknown names are refused."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    wanted = {p.strip().lower() for p in parts if p.strip()}
    unknown = sorted(wanted - set(FORMATS))
    if unknown or not wanted:
        raise ReportFormatError(f"unknown report format(s) {unknown or parts}; choose from {','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in wanted)


def file_name(week: ReportWeek, fmt: str) -> str:
    return f"patrol-weekly-{week.label}.{fmt}"


@dataclass
class ReportData:
    inputs: ReportInputs
    schemes: list[SchemeActivity] = field(default_factory=list)
    store: str = "sqlite"


def _names(settings: Settings) -> tuple[dict[str, str], frozenset[str]]:
    from nlp.places import GazetteerFile
    from patrol.datafiles import load_yaml_model

    gazetteer = load_yaml_model(settings.gazetteer_file, GazetteerFile)
    units = {unit.id: unit.name for unit in gazetteer.units}
    places = frozenset(name for p in gazetteer.places for name in (p.name, *p.aliases))
    return units, places


def _dismiss_labels(settings: Settings) -> dict[str, str]:
    from patrol.datafiles import load_yaml_model
    from patrol.workflow.policy import DismissReasons, WorkflowFiles

    reasons = load_yaml_model(WorkflowFiles.from_settings(settings).dismiss_reasons, DismissReasons)
    return {reason.code: reason.label for reason in reasons.reasons}


def _configured_sources(settings: Settings) -> list[str]:
    from crawlers.sources import load_sources

    return sorted(s.id for s in load_sources(settings.sources_file) if s.enabled)


def gather_report_data(
    settings: Settings, week: ReportWeek, *, store: StoreChoice = "auto", pseudonymise: bool = True
) -> ReportData:
    """Everything the report reads, for the week and the weeks it is compared with."""
    reader = open_post_frames(settings, store)
    try:
        posts = reader.posts(week.shifted(-HISTORY_WEEKS).start_utc, week.end_utc)
    finally:
        reader.close()
    db = WorkflowDb(settings.workflow_url)
    try:
        workflow = load_workflow_frames(db, week.shifted(-1).start_utc, week.end_utc)
        schemes = load_scheme_activity(db, week)
    finally:
        db.dispose()
    units, places = _names(settings)
    salt = load_or_create_salt(settings.state_dir) if pseudonymise else None
    inputs = ReportInputs(
        week=week,
        posts=posts,
        workflow=workflow,
        runs=load_crawl_runs(settings.sqlite_path, week.start_utc, week.end_utc),
        authors=AuthorNames(salt),
        unit_names=units,
        configured_sources=_configured_sources(settings),
        dismiss_labels=_dismiss_labels(settings),
        place_names=places,
    )
    return ReportData(inputs=inputs, schemes=schemes, store=reader.name)


def compose_report(
    data: ReportData, *, generated_at: datetime, topic_settings: TopicSettings | None = None
) -> WeeklyReport:
    inputs = data.inputs
    found = detect_topics(
        inputs.posts, history_weeks=HISTORY_WEEKS, exclude=inputs.place_names, settings=topic_settings
    )
    sections = [
        volume_section(inputs),
        topics_section(inputs, found, topic_settings),
        sentiment_section(inputs, found),
        places_section(inputs),
        risk_section(inputs),
        coverage_section(inputs),
        *(scheme_section(inputs, scheme) for scheme in data.schemes),
    ]
    key_findings = pick_key_findings([f for section in sections for f in section.findings])
    headline = headline_figures(inputs)
    return WeeklyReport(
        week=inputs.week,
        generated_at=generated_at,
        store=data.store,
        headline=headline,
        key_findings=key_findings,
        sections=[summary_section(headline, key_findings), *sections],
        pseudonymised=inputs.authors.pseudonymised,
    )


def write_report(report: WeeklyReport, out_dir: Path, formats: Sequence[str] = FORMATS) -> list[tuple[str, Path]]:
    """Write the chosen formats into `out_dir`; each file appears whole or not at all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []
    if "html" in formats or "pdf" in formats:
        font = find_cjk_font()
        renderer = ChartRenderer(font)
        charts = [
            (section.key, RenderedChart(spec.key, spec.title, renderer.render(spec)))
            for section in report.sections
            for spec in section.charts
        ]
        html = render_html(report, charts, font)
        if "html" in formats:
            path = out_dir / file_name(report.week, "html")
            write_atomically(path, html.encode("utf-8"))
            written.append(("html", path))
        if "pdf" in formats:
            path = out_dir / file_name(report.week, "pdf")
            tmp = path.with_name(f".{path.name}.tmp")
            render_pdf(html, tmp)
            tmp.replace(path)
            written.append(("pdf", path))
    if "xlsx" in formats:
        path = out_dir / file_name(report.week, "xlsx")
        tmp = path.with_name(f".{path.name}.tmp")
        render_xlsx(report, tmp)
        tmp.replace(path)
        written.append(("xlsx", path))
    return written


def build_weekly_report(
    settings: Settings,
    week: ReportWeek,
    *,
    out_dir: Path | None = None,
    formats: Sequence[str] = FORMATS,
    pseudonymise: bool = True,
    store: StoreChoice = "auto",
    now: datetime | None = None,
    topic_settings: TopicSettings | None = None,
) -> ReportRecord:
    """Build, write and record the report for `week`; default folder `<data_dir>/reports/weekly/<week>/`."""
    started = time.perf_counter()
    formats = parse_formats(formats)
    if "html" in formats or "pdf" in formats:
        find_cjk_font()  # fail before the work, not after it, when no CJK font is installed
    data = gather_report_data(settings, week, store=store, pseudonymise=pseudonymise)
    gathered = time.perf_counter()
    report = compose_report(data, generated_at=now or utcnow(), topic_settings=topic_settings)
    composed = time.perf_counter()
    directory = out_dir or weekly_dir(settings, week.label)
    written = write_report(report, directory, formats)
    finished = time.perf_counter()
    record = ReportRecord(
        week=week.label,
        period_start=week.start,
        period_end=week.end,
        generated_at=report.generated_at,
        store=report.store,
        pseudonymised=report.pseudonymised,
        directory=str(directory.resolve()),
        files=[file_record(fmt, path) for fmt, path in written],
        headline={f.key: {"this_week": f.this_week, "previous_week": f.previous_week} for f in report.headline},
        key_findings=[f.headline for f in report.key_findings],
        seconds=round(finished - started, 2),
        timings={
            "gather": round(gathered - started, 2),
            "compose": round(composed - gathered, 2),
            "write": round(finished - composed, 2),
        },
    )
    save_manifest(record)
    log.info(
        "weekly report built",
        extra={
            "week": week.label,
            "posts": len(data.inputs.posts),
            "seconds": record.timings,
            "directory": record.directory,
        },
    )
    return record
