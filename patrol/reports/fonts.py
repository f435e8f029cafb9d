"""The CJK font every chart and the PDF use, found among the fonts installed on this machine.

Without one, matplotlib and the PDF renderer draw Chinese as empty boxes ("tofu"); a report like
that is worse than none, so building one fails instead, saying what to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: Preferred families, best first: Simplified Chinese faces before other CJK ones.
PREFERRED_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
#: Characters the font must have: what the report's own headings use.
SAMPLE = "舆情周报发布量话题情感地点风险核查采集覆盖哈尔滨香坊南岗道里道外"


class MissingCjkFont(RuntimeError):
    pass


@dataclass(frozen=True)
class CjkFont:
    family: str
    path: Path


def covers(path: Path, text: str, font_number: int = 0) -> bool:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(str(path), fontNumber=font_number, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # a broken font file is simply not a candidate
        return False
    return all(ord(char) in cmap for char in text)


@cache
def find_cjk_font(families: tuple[str, ...] = PREFERRED_FAMILIES) -> CjkFont:
    """The first of `families` that is installed and has the report's characters."""
    from matplotlib import font_manager

    installed: dict[str, list[Path]] = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.weight in (400, "normal", "regular") and entry.style == "normal":
            installed.setdefault(entry.name, []).append(Path(entry.fname))
    for family in families:
        for path in installed.get(family, []):
            if _family_covers(path, family):
                return CjkFont(family, path)
    raise MissingCjkFont(
        "no CJK font is installed, so Chinese in charts and the PDF would render as empty boxes. Install one"
        " (Debian/Ubuntu: apt-get install fonts-noto-cjk; then delete matplotlib's font cache,"
        " ~/.cache/matplotlib, so it is found) and build the report again. Looked for: " + ", ".join(families)
    )


def _family_covers(path: Path, family: str) -> bool:
    if path.suffix.lower() != ".ttc":
        return covers(path, SAMPLE)
    from fontTools.ttLib import TTCollection

    # In a collection (.ttc), check the face that carries this family name.
    try:
        with TTCollection(str(path), lazy=True) as collection:
            numbers = [
                number
                for number, face in enumerate(collection.fonts)
                if family in {r.toUnicode() for r in face["name"].names if r.nameID in (1, 16)}
            ]
    except Exception:  # a broken font file is simply not a candidate
        return False
    return bool(numbers) and covers(path, SAMPLE, numbers[0])


@cache
def font_codepoints(font: CjkFont) -> frozenset[int]:
    """Every character the font has a glyph for (of the face named `font.family` in a collection)."""
    from fontTools.ttLib import TTCollection, TTFont

    if font.path.suffix.lower() != ".ttc":
        with TTFont(str(font.path), lazy=True) as single:
            return frozenset(single.getBestCmap() or {})
    codepoints: set[int] = set()
    with TTCollection(str(font.path), lazy=True) as collection:
        for face in collection.fonts:
            names = {record.toUnicode() for record in face["name"].names if record.nameID in (1, 16)}
            if font.family in names:
                codepoints |= set(face.getBestCmap() or {})
    return frozenset(codepoints)
