"""Charts drawn on the server as inline SVG: no script, no external library, works offline.

Only presentation attributes are used (no `style`), so the pages' CSP needs no inline styles, and
every label (some are crawled keywords) is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from patrol.web.inert import clean_text

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83", "#57606a")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _esc(text: str) -> str:
    return html.escape(clean_text(text), quote=True)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 760,
    height: int = 240,
    legend: bool = True,
) -> Markup:
    """One polyline per series over shared x labels; a legend under the plot."""
    left, right, top, bottom = 44, 12, 14, 34
    rows = (len(series) + 3) // 4 if legend else 0
    total_height = height + rows * 18
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for s in series for v in s.values), default=0))
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h * (1 - v / peak)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {total_height}" role="img" aria-label="{_esc(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{_esc(title)}</title>'
    ]
    for k in range(5):
        value = peak * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}"'
            f' stroke="#d0d7de" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11"'
            f' fill="#57606a">{value:g}</text>'
        )
    step = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" font-size="11"'
                f' fill="#57606a">{_esc(label)}</text>'
            )
    for index, s in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        if len(s.values) == 1:
            parts.append(f'<circle cx="{x(0):.1f}" cy="{y(s.values[0]):.1f}" r="3" fill="{color}"/>')
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2">'
            f"<title>{_esc(s.name)}</title></polyline>"
        )
    if legend:
        for index, s in enumerate(series):
            row, col = divmod(index, 4)
            lx, ly = left + col * (plot_w / 4), height + 4 + row * 18
            color = PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{lx:.1f}" y="{ly:.1f}" width="10" height="10" fill="{color}"/>')
            parts.append(
                f'<text x="{lx + 14:.1f}" y="{ly + 9:.1f}" font-size="11" fill="#24292f">'
                f"{_esc(s.name)} ({sum(s.values):g})</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    pairs: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 420,
    bar: int = 18,
    color: str = PALETTE[0],
) -> Markup:
    """Horizontal bars, largest first as given."""
    label_w, gap = 140, 4
    height = max(1, len(pairs)) * (bar + gap) + 8
    peak = max((v for _, v in pairs), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{_esc(title)}</title>'
    ]
    for i, (label, value) in enumerate(pairs):
        top = 4 + i * (bar + gap)
        length = (width - label_w - 50) * value / peak
        parts.append(
            f'<text x="{label_w - 6}" y="{top + bar - 5}" text-anchor="end" font-size="12"'
            f' fill="#24292f">{_esc(label[:24])}</text>'
        )
        parts.append(f'<rect x="{label_w}" y="{top}" width="{length:.1f}" height="{bar}" fill="{color}"/>')
        parts.append(
            f'<text x="{label_w + length + 4:.1f}" y="{top + bar - 5}" font-size="11"'
            f' fill="#57606a">{value:g}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
