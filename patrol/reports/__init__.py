"""The weekly opinion-trend report: figures with pandas, charts with matplotlib, HTML, PDF and XLSX.

from patrol.reports import ReportWeek, build_weekly_report, list_reports

record = build_weekly_report(settings, ReportWeek.parse("2026-W47"))
for record in list_reports(settings): ...
"""

from patrol.reports.archive import ReportFile, ReportRecord, list_reports, weekly_dir
from patrol.reports.build import FORMATS, ReportFormatError, build_weekly_report, parse_formats
from patrol.reports.fonts import MissingCjkFont, find_cjk_font
from patrol.reports.week import ReportWeek, WeekError

__all__ = [
    "FORMATS",
    "MissingCjkFont",
    "ReportFile",
    "ReportFormatError",
    "ReportRecord",
    "ReportWeek",
    "WeekError",
    "build_weekly_report",
    "find_cjk_font",
    "list_reports",
    "parse_formats",
    "weekly_dir",
]
