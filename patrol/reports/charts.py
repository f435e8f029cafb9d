"""Charts as PNG images, drawn with matplotlib in the CJK font (no pyplot: no global figure state)."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from patrol.reports.fonts import CjkFont, find_cjk_font, font_codepoints
from patrol.reports.model import ChartSpec

DPI = 150
SIZE_INCHES = (7.2, 3.2)
#: Labels come from crawled text (topic keywords): a character no font has is replaced, not boxed.
REPLACEMENT = "?"
FALLBACK_FAMILY = "DejaVu Sans"


def font_safe(text: str, font: CjkFont | None = None) -> str:
    covered = font_codepoints(font or find_cjk_font())
    return "".join(c if ord(c) in covered or c.isspace() else REPLACEMENT for c in text)


class ChartRenderer:
    def __init__(self, font: CjkFont | None = None) -> None:
        self.font = font or find_cjk_font()

    def render(self, spec: ChartSpec) -> bytes:
        style: Any = {  # the stubs key rc_context by a Literal of every rc name
            "font.family": [self.font.family, FALLBACK_FAMILY],
            "axes.unicode_minus": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
        with rc_context(style), warnings.catch_warnings():
            # A missing glyph would be drawn as a box: fail loudly instead of shipping tofu.
            warnings.filterwarnings("error", message=r"Glyph .* missing from")
            figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
            axes = figure.subplots()
            self._draw(axes, spec)
            axes.set_title(font_safe(spec.title, self.font), fontsize=11, loc="left")
            if spec.y_label:
                target = axes.set_xlabel if spec.kind == "barh" else axes.set_ylabel
                target(font_safe(spec.y_label, self.font), fontsize=9)
            if len(spec.frame.columns) > 1:
                axes.legend(fontsize=8, frameon=False)
            out = io.BytesIO()
            figure.savefig(out, format="png", dpi=DPI)
        return out.getvalue()

    def _draw(self, ax: Axes, spec: ChartSpec) -> None:
        frame = spec.frame.astype(float)
        labels = [font_safe(str(i), self.font) for i in frame.index]
        series = [font_safe(str(c), self.font) for c in frame.columns]
        positions = np.arange(len(labels))
        if spec.kind == "line":
            for name, column in zip(series, frame.columns, strict=True):
                ax.plot(labels, frame[column].to_numpy(), marker="o", label=name)
            if spec.zero_based:
                ax.set_ylim(bottom=0)
        elif spec.kind == "stacked_bar":
            bottom = np.zeros(len(labels))
            for name, column in zip(series, frame.columns, strict=True):
                values = frame[column].fillna(0).to_numpy()
                ax.bar(positions, values, bottom=bottom, label=name)
                bottom += values
            ax.set_xticks(positions, labels, fontsize=8)
        else:
            width = 0.8 / max(1, len(series))
            for k, (name, column) in enumerate(zip(series, frame.columns, strict=True)):
                offset = positions + (k - (len(series) - 1) / 2) * width
                values = frame[column].fillna(0).to_numpy()
                if spec.kind == "barh":
                    ax.barh(offset, values, height=width, label=name)
                else:
                    ax.bar(offset, values, width=width, label=name)
            if spec.kind == "barh":
                ax.set_yticks(positions, labels, fontsize=8)
                ax.invert_yaxis()
            else:
                ax.set_xticks(positions, labels, fontsize=8)
        ax.tick_params(labelsize=8)
