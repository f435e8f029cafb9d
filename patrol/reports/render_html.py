"""The report as one self-contained HTML page (charts inlined), also the source of the PDF.

Jinja2 autoescapes everything: titles, snippets, keywords and URLs are crawled text and may carry
markup or script. Links are made only for http(s) URLs, and the page's CSP forbids loading or
running anything.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import UTC
from importlib import resources
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from patrol.reports.fonts import CjkFont
from patrol.reports.model import WeeklyReport, column_label
from patrol.reports.week import REPORT_ZONE

PERCENT_COLUMNS = frozenset({"change_pct"})
SHARE_COLUMNS = frozenset({"share", "negative_share", "precision"})


@dataclass(frozen=True)
class RenderedChart:
    key: str
    title: str
    png: bytes

    @property
    def data(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


def plain(value: Any) -> Any:
    """numpy and pandas scalars as the Python values they stand for (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def format_cell(column: str, value: Any) -> str:
    """How a table cell reads in HTML and PDF; the XLSX keeps the raw number."""
    value = plain(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float) and column in PERCENT_COLUMNS:
        return f"{value:+.1f}%"
    if isinstance(value, int | float) and column in SHARE_COLUMNS:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"
    return str(value)


def _cell_class(value: Any) -> str:
    value = plain(value)
    return "num" if isinstance(value, int | float) and not isinstance(value, bool) else ""


def is_safe_url(url: object) -> bool:
    return isinstance(url, str) and url.lower().startswith(("http://", "https://")) and '"' not in url


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("patrol.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["column_label"] = column_label
    env.filters["cell_class"] = _cell_class
    env.tests["safe_url"] = is_safe_url
    env.globals["format_cell"] = format_cell
    return env


def _css(font: CjkFont) -> Markup:
    css = resources.files("patrol.reports").joinpath("templates/weekly.css").read_text(encoding="utf-8")
    # Our own stylesheet and a family name from our own list; nothing crawled goes in here.
    return Markup(css.replace("{{FONT}}", font.family))


def render_html(report: WeeklyReport, charts: list[tuple[str, RenderedChart]], font: CjkFont) -> str:
    by_section: dict[str, list[RenderedChart]] = {}
    for section_key, chart in charts:
        by_section.setdefault(section_key, []).append(chart)
    template = _environment().get_template("weekly.html.j2")
    generated = report.generated_at.astimezone(REPORT_ZONE)
    return template.render(
        report=report,
        charts=by_section,
        css=_css(font),
        generated=f"{generated:%Y-%m-%d %H:%M} (UTC {report.generated_at.astimezone(UTC):%H:%M})",
    )
