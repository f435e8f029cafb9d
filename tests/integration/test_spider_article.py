"""The article spider on the real news pages of `../shared/data/pages/news/`, served locally.

A section page (self-written, like a portal's 本地新闻 list) links to every saved article page. The
pages go out with their own bytes and `text/html; charset=utf-8`, except the two whose `<meta>`
says gb2312 while their bytes are UTF-8: those are served declaring gb2312 in the header too, as
their site did. The labelled pages (`truth.json`) must come out with their exact title and publish
time; none of the pages may break the crawl.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.timeparse import SITE_TZ
from tests.fixtures.crawl.crawling import crawl_entry, error_kinds, landed
from tests.fixtures.crawl.local_site import LocalSite, Page, file_page

pytestmark = pytest.mark.shared_data

LYING = {"tests/163/9.html", "tests/people/1.html"}


def news_dir() -> Path:
    path = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "news").resolve()
    if not (path / "truth.json").exists():
        pytest.skip(f"../shared/data absent: {path} holds the real news pages and truth.json")
    return path


@pytest.fixture
def portal() -> Iterator[tuple[LocalSite, dict[str, str]]]:
    folder = news_dir()
    site = LocalSite(datetime(2021, 3, 1, tzinfo=UTC))
    site.route("/robots.txt", Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain"))
    pages = sorted(p for p in folder.glob("*/*/*.html") if "test_list_page" not in p.parts)
    route_of: dict[str, str] = {}
    links = []
    for index, path in enumerate(pages):
        relative = str(path.relative_to(folder))
        route = f"/local/{index:03d}.html"
        route_of[relative] = route
        charset = "gb2312" if relative in LYING else "utf-8"
        site.route(route, file_page(path, f"text/html; charset={charset}"))
        links.append(
            f'<li><a href="{route}">本地新闻第{index}条：{html.escape(relative)}</a><span>2019-09-09</span></li>'
        )
    section = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>本地新闻_新闻中心</title></head><body>'
        '<div class="nav"><a href="/">首页</a><a href="/local/">本地</a></div>'
        f'<ul class="news-list">{"".join(links)}</ul></body></html>'
    )
    site.route("/local/", Page(section.encode("utf-8"), "text/html; charset=utf-8"))
    site.start()
    yield site, route_of
    site.stop()


def test_real_news_pages_titles_times_and_no_crash_then_only_the_section(
    tmp_path: Path, portal: tuple[LocalSite, dict[str, str]]
) -> None:
    site, route_of = portal
    entry = {"id": "local_news", "kind": "article", "start_urls": [f"{site.base_url}/local/"]}
    first = crawl_entry(tmp_path, entry, "p1", timeout_s=120)
    assert first.ok, first.errors
    kinds = error_kinds(first)
    assert set(kinds) <= {"charset_mismatch", "bad_html"}, first.errors  # no crash ("parse"), nothing else
    assert sorted(url.rsplit("/", 1)[1] for url in kinds["charset_mismatch"]) == sorted(
        route_of[r].rsplit("/", 1)[1] for r in LYING
    )
    posts = {p["url"].removeprefix(site.base_url): p for p in landed(first)}
    assert len(posts) + len(kinds.get("bad_html", [])) == len(route_of)  # every page: an article or a report

    truth = json.loads((news_dir() / "truth.json").read_text(encoding="utf-8"))
    for relative, labels in truth.items():
        post = posts[route_of[relative]]
        assert post["title"] == labels["title"], relative
        shown = datetime.fromisoformat(post["published_at"]).astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M:%S")
        assert shown == labels["publish_time"], relative
        assert post["kind"] == "article" and len(post["text"]) >= 0.8 * len(labels["content"].replace("\n", ""))
    lying = posts[route_of["tests/163/9.html"]]
    assert lying["title"] == "5月20日至31日，京沪高速无锡至江阴大桥至广陵枢纽段封闭！"  # read as UTF-8, not mojibake
    assert all("\ufffd" not in p["title"] for p in posts.values())

    site.take_paths()
    second = crawl_entry(tmp_path, entry, "p2")
    assert second.ok and second.items == 0
    assert sorted(site.take_paths()) == ["/local/", "/robots.txt"]
