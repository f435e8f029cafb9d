"""Where built reports live and how the console finds them: one folder per week under the data dir,
each with a `manifest.json` written last (a folder without one is a build that did not finish)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from patrol.config import Settings

MANIFEST = "manifest.json"
log = logging.getLogger("patrol.reports")


class ReportFile(BaseModel):
    format: str
    name: str = Field(description="file name inside the report's folder")
    bytes: int
    sha256: str


class ReportRecord(BaseModel):
    """What a built report is: its week, files, headline figures and key findings."""

    kind: str = "weekly"
    week: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    generated_at: AwareDatetime
    store: str
    pseudonymised: bool
    directory: str
    files: list[ReportFile]
    headline: dict[str, dict[str, int]] = Field(description="figure -> this_week, previous_week")
    key_findings: list[str]
    seconds: float = 0.0
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per step: gather, compose, write")

    def path(self, fmt: str) -> Path | None:
        for item in self.files:
            if item.format == fmt:
                return Path(self.directory) / item.name
        return None


def weekly_dir(settings: Settings, week_label: str) -> Path:
    return settings.reports_dir / "weekly" / week_label


def file_record(fmt: str, path: Path) -> ReportFile:
    data = path.read_bytes()
    return ReportFile(format=fmt, name=path.name, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_manifest(record: ReportRecord) -> Path:
    path = Path(record.directory) / MANIFEST
    write_atomically(path, record.model_dump_json(indent=2).encode("utf-8"))
    return path


def load_manifest(directory: Path) -> ReportRecord | None:
    path = directory / MANIFEST
    try:
        return ReportRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValidationError, json.JSONDecodeError) as exc:
        log.warning("unreadable report manifest", extra={"path": str(path), "error": str(exc)})
        return None


def list_reports(settings: Settings) -> list[ReportRecord]:
    """Every finished weekly report under the data dir, the newest week first."""
    root = settings.reports_dir / "weekly"
    if not root.is_dir():
        return []
    records = [record for d in root.iterdir() if d.is_dir() and (record := load_manifest(d)) is not None]
    return sorted(records, key=lambda r: (r.week, r.generated_at), reverse=True)


def summary_line(record: ReportRecord) -> dict[str, Any]:
    return {
        "week": record.week,
        "generated_at": record.generated_at.isoformat(),
        "formats": [f.format for f in record.files],
        "posts": record.headline.get("posts", {}).get("this_week"),
        "directory": record.directory,
    }
