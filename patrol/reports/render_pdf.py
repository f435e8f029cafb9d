"""The PDF: the report's HTML printed by WeasyPrint, offline.

Only `data:` URLs may be fetched (the inlined charts): a crawled URL in the page can never make
the renderer reach the network or read a local file.
"""

from __future__ import annotations

from pathlib import Path


def render_pdf(html: str, target: Path) -> None:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    HTML(string=html, url_fetcher=fetcher).write_pdf(target)
