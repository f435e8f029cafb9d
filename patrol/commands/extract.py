"""`patrol extract FILE_OR_URL [--json]`: what the crawlers would read from one page.

Prints the page's title, author, publish time (ISO 8601, +08:00) and text: the opening post of a
Discuz! or Tieba thread page, else the article the generic extractor finds. A URL is fetched once,
politely (our user agent, robots.txt obeyed, at most `MAX_BYTES`); a file is read as saved, so a
page kept as evidence can be checked offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from crawlers.extract import ExtractedPage, extract_page
from crawlers.settings import USER_AGENT
from crawlers.timeparse import response_time
from patrol.schema import utcnow

console = Console()
#: Largest page fetched, as the crawl's DOWNLOAD_MAXSIZE.
MAX_BYTES = 10 * 1024 * 1024
TIMEOUT_S = 20.0


class FetchError(Exception):
    """The page could not be fetched; the message says why and what to try."""


def _robots_allow(client: httpx.Client, url: str) -> bool:
    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    try:
        answer = client.get(robots_url)
    except httpx.HTTPError:
        return True  # no robots.txt reachable: nothing forbids it (as Scrapy treats it)
    if answer.status_code >= 400:
        return True
    parser = RobotFileParser()
    parser.parse(answer.text.splitlines())
    return parser.can_fetch(USER_AGENT, url)


def fetch(url: str) -> tuple[bytes, str | None, str, str | None]:
    """The page's bytes, Content-Type, final URL and `Date` header, fetched as the crawler would."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    with httpx.Client(headers=headers, timeout=TIMEOUT_S, follow_redirects=True) as client:
        if not _robots_allow(client, url):
            raise FetchError(f"{url}: robots.txt forbids fetching it; save the page from a browser and pass the file")
        try:
            with client.stream("GET", url) as answer:
                if answer.status_code >= 400:
                    raise FetchError(
                        f"{url}: HTTP {answer.status_code}; check the address, or save the page and pass the file"
                    )
                chunks, size = [], 0
                for chunk in answer.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise FetchError(f"{url}: larger than {MAX_BYTES // (1024 * 1024)} MiB; not a page to extract")
                    chunks.append(chunk)
                content_type, date = answer.headers.get("content-type"), answer.headers.get("date")
                return b"".join(chunks), content_type, str(answer.url), date
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: cannot fetch ({exc}); check the address and the network") from exc


def _show(page: ExtractedPage) -> None:
    data = page.as_dict()
    for name in ("title", "author", "published_at"):
        value = data[name]
        console.print(f"[bold]{name}:[/bold] {escape(str(value)) if value is not None else '[dim]none found[/dim]'}")
    console.print("[bold]content:[/bold]")
    console.print(escape(page.content) if page.content else "[dim]none found[/dim]", highlight=False, soft_wrap=True)
    if page.charset_mismatch:
        console.print(f"[yellow]note:[/yellow] the page's declared charset is wrong; read as {page.encoding}")


def extract(
    target: Annotated[str, typer.Argument(help="a saved page (file path) or an http(s) URL")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Extract title, author, publish time and text from one page, as the crawlers would."""
    path = Path(target)
    if path.is_file():
        body, content_type, url = path.read_bytes(), None, path.resolve().as_uri()
        now = utcnow()
    elif urlsplit(target).scheme in ("http", "https"):
        try:
            body, content_type, url, date = fetch(target)
        except FetchError as exc:
            console.print(f"[red]cannot extract[/red]: {escape(str(exc))}")
            raise typer.Exit(1) from exc
        now = response_time(date, fetched_at=utcnow())  # relative times are the server's
    else:
        console.print(f"[red]cannot extract[/red]: {escape(target)} is neither an existing file nor an http(s) URL")
        raise typer.Exit(2)
    page = extract_page(body, url=url, now=now, content_type=content_type)
    if as_json:
        typer.echo(json.dumps(page.as_dict(), ensure_ascii=False, indent=2))
        return
    _show(page)
