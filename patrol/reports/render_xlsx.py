"""The report's numbers as an Excel workbook: one sheet per section, every table with its title.

Numbers stay numbers (no formatting baked in) so analysts can recompute from them. Crawled text is
always written as text: a title starting with "=" must never become a formula (CSV/XLSX injection),
and control characters the format forbids are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from patrol.reports.model import Link, Section, WeeklyReport, column_label
from patrol.reports.render_html import is_safe_url, plain

TITLE_FONT = Font(bold=True, size=14)
TABLE_FONT = Font(bold=True, size=11, color="2B5797")
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="EEF1F6")
NOTE_FONT = Font(italic=True, color="666666")
LINK_COLUMNS = ("label", "url", "source", "time", "author", "post_id", "detail")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_name(index: int, section: Section, taken: set[str]) -> str:
    """Excel allows 31 characters and no []:*?/\\ in a sheet name, unique per workbook."""
    base = " ".join(_SHEET_FORBIDDEN.sub(" ", f"{index} {section.title}").split())[:31].strip()
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


class _SheetWriter:
    def __init__(self, sheet: Worksheet) -> None:
        self.sheet = sheet
        self.row = 1
        self.widths: dict[int, int] = {}

    def put(self, column: int, value: Any, font: Font | None = None) -> Cell:
        value = plain(value)
        cell: Cell = self.sheet.cell(row=self.row, column=column)
        if isinstance(value, str):
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.quotePrefix = value[:1] in ("=", "+", "-", "@", "\t", "\r")
        else:
            cell.value = value
        if font is not None:
            cell.font = font
        width = min(60, max(len(str(cell.value or "")) + 2, 8))
        self.widths[column] = max(self.widths.get(column, 0), width)
        return cell

    def line(self, text: str, font: Font | None = None) -> None:
        self.put(1, text, font)
        self.row += 1

    def table(self, title: str, columns: list[str], rows: list[list[Any]], note: str = "") -> None:
        self.line(title, TABLE_FONT)
        for j, column in enumerate(columns, start=1):
            self.put(j, column_label(column), HEADER_FONT).fill = HEADER_FILL
        self.row += 1
        for values in rows:
            for j, value in enumerate(values, start=1):
                self.put(j, value)
            self.row += 1
        if note:
            self.line(note, NOTE_FONT)
        self.row += 1

    def links(self, title: str, links: list[Link]) -> None:
        start = self.row + 2
        self.table(title, list(LINK_COLUMNS), [list(link.as_row().values()) for link in links])
        for offset, link in enumerate(links):
            if is_safe_url(link.url):
                self.sheet.cell(row=start + offset, column=2).hyperlink = link.url

    def finish(self) -> None:
        for column, width in self.widths.items():
            self.sheet.column_dimensions[self.sheet.cell(row=1, column=column).column_letter].width = width


def _write_section(writer: _SheetWriter, section: Section) -> None:
    writer.line(section.title, TITLE_FONT)
    if section.intro:
        writer.line(section.intro)
    writer.row += 1
    for table in section.tables:
        rows = [list(values) for values in table.frame.itertuples(index=False)]
        writer.table(table.title, [str(c) for c in table.frame.columns], rows, table.note)
    for link_list in section.link_lists:
        writer.links(link_list.title, link_list.links)
    for note in section.notes:
        writer.line(note, NOTE_FONT)


def render_xlsx(report: WeeklyReport, target: Path) -> None:
    workbook = Workbook()
    taken: set[str] = set()
    first = True
    for index, section in enumerate(report.sections, start=1):
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = sheet_name(index, section, taken)
        writer = _SheetWriter(sheet)
        _write_section(writer, section)
        writer.finish()
    about = _SheetWriter(workbook.create_sheet("说明 About"))
    about.line(report.title, TITLE_FONT)
    for text in (
        f"period 周期: {report.period}",
        f"generated 生成: {report.generated_at.isoformat()}",
        f"store 数据: {report.store}",
        f"authors 作者: {'pseudonymised 已化名' if report.pseudonymised else 'as crawled 原名'}",
        "Posts are counted by publication time in Asia/Shanghai; workflow figures by when things happened.",
    ):
        about.line(text)
    about.finish()
    workbook.save(target)
