"""The demo site's fault endpoints: each fault is recorded in the pass report by kind while the rest
of the crawl completes, and nothing lands as mojibake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.run import run_crawl
from crawlers.sources import load_sources
from demo import DemoSite
from patrol.schema import CrawlReport
from tests.fixtures.crawl.fake_site import FAST_SETTINGS, sources_yaml


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(seed=7, threads=30) as demo:
        yield demo


def crawl(tmp_path: Path, **entry: Any) -> CrawlReport:
    path = tmp_path / "sources.yaml"
    path.write_text(sources_yaml([entry]), encoding="utf-8")
    return run_crawl(
        load_sources(path)[0],
        pass_id="p1",
        data_dir=tmp_path / "data",
        sources_file=path,
        timeout_s=60,
        settings=FAST_SETTINGS,
    )


def posts_of(report: CrawlReport) -> list[dict[str, Any]]:
    return [json.loads(line) for batch in report.batches for line in Path(batch).read_text("utf-8").splitlines()]


def test_garbage_thread_pages_fail_alone(site: DemoSite, tmp_path: Path) -> None:
    report = crawl(tmp_path, id="garbage", kind="discuz", start_urls=[f"{site.base_url}/fault/garbage/forum.php"])
    assert report.ok
    assert [e.kind for e in report.errors] == ["bad_html", "bad_html"]
    assert all("/fault/garbage/forum.php?mod=viewthread" in e.url for e in report.errors)
    posts = posts_of(report)
    assert len({p["thread_id"] for p in posts}) == 1  # the third thread, the only readable one
    assert all(p["url"].startswith(f"{site.base_url}/fault/garbage/") for p in posts)


def test_lying_charset_is_reported_and_read_correctly(site: DemoSite, tmp_path: Path) -> None:
    report = crawl(tmp_path, id="liar", kind="discuz", start_urls=[f"{site.base_url}/fault/lying-charset/forum.php"])
    assert report.ok
    assert report.errors and {e.kind for e in report.errors} == {"charset_mismatch"}
    assert len(report.errors) == report.pages  # every page lies, every page is still read
    posts = posts_of(report)
    assert len({p["thread_id"] for p in posts}) == 5
    threads = {int(p["thread_id"]) for p in posts}
    truth = {str(f.pid): f.text for tid in threads for f in site.content.thread(tid).floors}
    for post in posts:
        assert " ".join(post["text"].split()) == " ".join(truth[post["native_id"]].split())


@pytest.mark.parametrize(("path", "kind"), [("/fault/api/empty", "empty"), ("/fault/api/emptyjson", "empty")])
def test_empty_json_is_recorded(site: DemoSite, tmp_path: Path, path: str, kind: str) -> None:
    report = crawl(tmp_path, id="nojson", kind="weibo", start_urls=[f"{site.base_url}{path}?containerid=1076031"])
    assert not report.ok  # its only page was unusable
    assert [(e.kind, e.url) for e in report.errors] == [(kind, f"{site.base_url}{path}?containerid=1076031")]


def test_one_broken_account_does_not_stop_the_others(site: DemoSite, tmp_path: Path) -> None:
    weibo = next(entry for entry in site.source_entries() if entry["kind"] == "weibo")
    broken = f"{site.base_url}/fault/api/empty?containerid=1076031"
    failing = f"{site.base_url}/fault/status/500"
    report = crawl(tmp_path, id="mixed", kind="weibo", start_urls=[broken, failing, *weibo["start_urls"]])
    assert report.ok
    assert sorted(e.kind for e in report.errors) == ["empty", "http_status"]
    assert {p["kind"] for p in posts_of(report)} == {"weibo", "comment"}
