"""`run_crawl` as the pipeline uses it: never raises, reports dead, hanging and unknown sources as
`ok=False` within its time limit, and does not depend on the caller's working directory."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawlers.report import report_path
from crawlers.run import run_crawl
from crawlers.sources import SourceConfig, load_sources
from tests.fixtures.crawl.fake_site import FAST_SETTINGS, FakeSite, sources_yaml

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers: a hung site."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield int(server.getsockname()[1])
    server.close()
    for connection in held:
        connection.close()


def one_source(tmp_path: Path, **entry: object) -> tuple[SourceConfig, Path]:
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(sources_yaml([entry]), encoding="utf-8")
    return load_sources(sources_file)[0], sources_file


def test_unreachable_source_is_not_ok_and_quick(tmp_path: Path) -> None:
    source, sources_file = one_source(
        tmp_path, id="dead", kind="discuz", start_urls=[f"http://127.0.0.1:{free_port()}/forum.php"]
    )
    started = time.monotonic()
    report = run_crawl(source, pass_id="p1", data_dir=tmp_path / "data", sources_file=sources_file, timeout_s=60)
    assert time.monotonic() - started < 20
    assert not report.ok
    assert report.pages == 0 and report.batches == []
    assert [e.kind for e in report.errors] == ["unreachable"]
    assert "refused" in report.errors[0].message.lower()
    assert report_path(tmp_path / "data", "p1", "dead").exists()


def test_hung_source_is_stopped_within_its_time_limit(tmp_path: Path, silent_server: int) -> None:
    source, sources_file = one_source(
        tmp_path,
        id="hung",
        kind="weibo",
        start_urls=[f"http://127.0.0.1:{silent_server}/api/container/getIndex?containerid=1"],
    )
    started = time.monotonic()
    report = run_crawl(source, pass_id="p1", data_dir=tmp_path / "data", sources_file=sources_file, timeout_s=12)
    assert time.monotonic() - started < 12 + 3
    assert not report.ok
    assert "timeout" in {e.kind for e in report.errors}


def test_a_crawl_that_will_not_stop_is_killed_and_reported(tmp_path: Path, silent_server: int) -> None:
    source, sources_file = one_source(
        tmp_path,
        id="stuck",
        kind="weibo",
        start_urls=[f"http://127.0.0.1:{silent_server}/api/container/getIndex?containerid=1"],
    )
    # Switch off the crawl's own limits so only the runner's hard timeout can end it.
    no_limits = {"PATROL_DEADLINE_AT": 0, "CLOSESPIDER_TIMEOUT": 0, "DOWNLOAD_TIMEOUT": 120}
    started = time.monotonic()
    report = run_crawl(
        source, pass_id="p1", data_dir=tmp_path / "data", sources_file=sources_file, timeout_s=4, settings=no_limits
    )
    assert time.monotonic() - started < 4 + 2 + 3
    assert not report.ok
    assert any(e.kind == "timeout" and "exceeded 4s" in e.message for e in report.errors)


def test_source_missing_from_the_file_fails_with_the_log_tail(tmp_path: Path) -> None:
    _, sources_file = one_source(tmp_path, id="listed", kind="discuz", start_urls=["http://127.0.0.1:9/"])
    ghost = SourceConfig(id="ghost", kind="discuz", start_urls=["http://127.0.0.1:9/"])
    report = run_crawl(ghost, pass_id="p1", data_dir=tmp_path / "data", sources_file=sources_file, timeout_s=60)
    assert not report.ok
    (error,) = report.errors
    assert error.kind == "process"
    assert "no source with id 'ghost'" in error.message
    assert "ghost.log" in error.message


def test_runs_from_any_working_directory_with_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = FakeSite(NOW)
    site.add_thread(
        1, 1, "松北区冰雪大世界", ["排队三小时", "注意保暖"], start=NOW - timedelta(days=2), step=timedelta(hours=1)
    )
    base = site.start()
    try:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        source, _ = one_source(elsewhere, id="forum", kind="discuz", start_urls=[f"{base}/forum.php"])
        report = run_crawl(
            source,
            pass_id="p1",
            data_dir=Path("data"),
            sources_file=Path("sources.yaml"),
            timeout_s=60,
            settings=FAST_SETTINGS,
        )
    finally:
        site.stop()
    assert report.ok and report.new_items == 2
    assert all(Path(batch).is_absolute() and Path(batch).exists() for batch in report.batches)
    assert (elsewhere / "data" / "state" / "forum.json").exists()
