"""Bad input fails the page or the source that carries it, is reported in the pass summary, and the
rest of the pass completes: an unreachable source, pages that are not HTML, a lying charset and
an empty JSON page, all in one pass beside a healthy source."""

from __future__ import annotations

import socket
from pathlib import Path

import yaml

from crawlers.sources import load_sources
from demo.server import DemoSite
from patrol.config import load_settings
from patrol.passes import run_pass
from patrol.runtime import Runtime
from patrol.store.base import SearchFilters


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bad_sources_are_reported_and_the_rest_completes(tmp_path: Path) -> None:
    with DemoSite(seed=7, threads=60) as site:
        base = site.base_url
        uid = site.content.weibo_accounts[0].uid
        sources = {
            "sources": [
                {"id": "healthy", "kind": "discuz", "start_urls": [f"{base}/forum.php"]},
                {"id": "down", "kind": "discuz", "start_urls": [f"http://127.0.0.1:{_closed_port()}/forum.php"]},
                {"id": "garbage", "kind": "discuz", "start_urls": [f"{base}/fault/garbage/forum.php"]},
                {"id": "lying", "kind": "discuz", "start_urls": [f"{base}/fault/lying-charset/forum.php"]},
                {"id": "empty", "kind": "weibo", "start_urls": [f"{base}/fault/api/empty?containerid=107603{uid}"]},
            ]
        }
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
        runtime = Runtime(load_settings(data_dir=tmp_path / "data", sources_file=sources_file, crawl_timeout_s=120))
        summary = run_pass(runtime, load_sources(sources_file))

    by_id = {s.id: s for s in summary.sources}
    error_kinds = {sid: {e.kind for e in s.errors} for sid, s in by_id.items()}

    assert by_id["healthy"].ok and by_id["healthy"].items > 0 and not by_id["healthy"].errors
    assert not by_id["down"].ok and "unreachable" in error_kinds["down"]
    assert "bad_html" in error_kinds["garbage"] and by_id["garbage"].items > 0  # the good thread still came in
    assert "charset_mismatch" in error_kinds["lying"] and by_id["lying"].items > 0
    assert "empty" in error_kinds["empty"]
    assert summary.errors >= 4

    # Lying charset: stored text is the right Chinese, not mojibake.
    page = runtime.store.search("", SearchFilters(sources=["lying"]), limit=200)
    texts = [h.snippet_html for h in page.hits]
    assert texts and all("\ufffd" not in t and "锟" not in t for t in texts)
    assert any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t)
    runtime.close()
