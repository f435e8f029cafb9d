"""The whole pipeline on the embedded default, against the real demo site over HTTP:
crawl (Scrapy subprocesses) -> analyse -> index (SQLite) -> flag (review items)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawlers.sources import load_sources
from demo.server import DemoSite
from patrol.commands.flags import list_review_items
from patrol.config import load_settings
from patrol.demo_sources import write_demo_sources
from patrol.passes import PassSummary, run_pass
from patrol.runtime import Runtime


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(seed=7, threads=60) as running:
        yield running


@pytest.fixture(scope="module")
def demo_run(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> tuple[Runtime, PassSummary, PassSummary]:
    data_dir = tmp_path_factory.mktemp("pipeline") / "data"
    sources_file = write_demo_sources(data_dir / "sources.yaml", site.base_url, site.content)
    runtime = Runtime(load_settings(data_dir=data_dir, sources_file=sources_file))
    sources = load_sources(sources_file)
    first = run_pass(runtime, sources)
    second = run_pass(runtime, sources)
    return runtime, first, second


DemoRun = tuple[Runtime, PassSummary, PassSummary]


def test_first_pass_stores_every_post_and_flags_six_categories(demo_run: DemoRun, site: DemoSite) -> None:
    _, first, _ = demo_run
    assert all(s.ok for s in first.sources), first.sources
    assert first.posts >= 0.95 * len(site.content.truth())
    assert len([c for c, n in first.flags_by_category.items() if n > 0]) >= 6
    assert first.top_terms


def test_second_pass_doubles_nothing(demo_run: tuple[Runtime, PassSummary, PassSummary]) -> None:
    _, first, second = demo_run
    assert second.flags_by_category == first.flags_by_category
    assert second.posts == first.posts
    assert second.new_flags == 0 and second.new_posts == 0
    assert sum(s.requests for s in second.sources) < sum(s.requests for s in first.sources) / 5


def test_near_misses_are_not_flagged_and_flags_explain_themselves(
    demo_run: tuple[Runtime, PassSummary, PassSummary], site: DemoSite
) -> None:
    runtime, _, _ = demo_run
    truth = site.content.truth()
    items = list_review_items(runtime.workflow, limit=10_000)
    flagged_native = {c["post_id"].split(":", 1)[1]: c for item in items for c in item["copies"]}
    near_misses = {pid for pid, t in truth.items() if t.near_miss}
    assert near_misses, "the demo site must carry near-miss posts"
    wrongly = sorted(near_misses & set(flagged_native))
    assert not wrongly, f"near-miss posts flagged: {wrongly}"
    for copy in flagged_native.values():
        assert copy["evidence"], f"{copy['post_id']} flagged without evidence"
        post = runtime.store.get(copy["post_id"])
        assert post is not None
        for evidence in copy["evidence"]:
            if evidence["signal"] == "lexicon":
                assert post.post.text[evidence["start"] : evidence["end"]], evidence


def test_search_finds_flagged_hazard(demo_run: tuple[Runtime, PassSummary, PassSummary]) -> None:
    runtime, _, _ = demo_run
    page = runtime.store.search("燃气")
    assert page.total > 0 and "<mark>" in page.hits[0].snippet_html
