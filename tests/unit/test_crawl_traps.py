"""Crawler traps: pagination loops, endless pagination and calendars, as plain code."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawlers.traps import TrapDetected, TrapGuard, canonical_url, url_date, url_shape

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def test_canonical_url_ignores_fragment_and_query_order() -> None:
    assert canonical_url("http://A.cn/f?b=2&a=1#top") == canonical_url("http://a.cn/f?a=1&b=2")


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("http://a.cn/cal?date=2026-11-29", "2026-11-29"),
        ("http://a.cn/2019/09/05/123.html", "2019-09-05"),
        ("http://a.cn/news/20191205/x.html", "2019-12-05"),
        ("http://a.cn/cal?date=20261129", "2026-11-29"),
        ("http://a.cn/e?year=2026&month=12&day=3", "2026-12-03"),
        ("http://a.cn/t?tid=20150315", None),  # an id, not a date
        ("http://a.cn/p/9117905169?pn=2", None),
    ],
)
def test_url_dates(url: str, day: str | None) -> None:
    found = url_date(url)
    assert (found.isoformat() if found else None) == day


def test_calendar_pages_share_a_shape_dated_articles_do_not() -> None:
    assert url_shape("http://a.cn/cal?date=2026-11-01") == url_shape("http://a.cn/cal?date=2026-10-01")
    assert url_shape("http://a.cn/2019/09/05/1.html") != url_shape("http://a.cn/2019/09/06/2.html")


def test_future_and_ancient_calendar_pages_are_refused() -> None:
    guard = TrapGuard(calendar_horizon_days=365)
    guard.check_link("http://a.cn/cal?date=2026-11-28", now=NOW)
    with pytest.raises(TrapDetected, match="in the future"):
        guard.check_link("http://a.cn/cal?date=2026-12-25", now=NOW)
    with pytest.raises(TrapDetected, match="days back"):
        guard.check_link("http://a.cn/cal?date=2020-01-01", now=NOW)


def test_a_next_day_link_followed_day_after_day_is_stopped() -> None:
    guard = TrapGuard(calendar_max_dates=5)
    for back in range(5):
        guard.check_link(f"http://a.cn/cal?date={(NOW - timedelta(days=back)).date()}", now=NOW)
    with pytest.raises(TrapDetected, match="more than 5 dates"):
        guard.check_link(f"http://a.cn/cal?date={(NOW - timedelta(days=9)).date()}", now=NOW)
    for back in range(10):  # dated articles differ in more than their date: never a calendar
        guard.check_link(f"http://a.cn/{(NOW - timedelta(days=back)).date():%Y/%m/%d}/{back}.html", now=NOW)


def test_pagination_loop_and_depth() -> None:
    guard = TrapGuard(max_pagination=3)
    guard.start_chain("board", "http://a.cn/f?page=1")
    guard.check_next("board", "http://a.cn/f?page=2")
    with pytest.raises(TrapDetected, match="pagination loop"):
        guard.check_next("board", "http://a.cn/f?page=1#again")
    guard.check_next("board", "http://a.cn/f?page=3")
    with pytest.raises(TrapDetected, match="more than 3 pages"):
        guard.check_next("board", "http://a.cn/f?page=4")
    guard.check_next("other-board", "http://a.cn/g?page=2")  # chains are separate


def test_a_next_page_repeating_the_previous_items_is_a_loop() -> None:
    guard = TrapGuard()
    guard.check_items("board", ("1", "2"), "p1")
    guard.check_items("board", ("3", "4"), "p2")
    with pytest.raises(TrapDetected, match="same 2 items"):
        guard.check_items("board", ("3", "4"), "p3")
