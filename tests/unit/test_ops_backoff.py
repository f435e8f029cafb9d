"""A failing source waits longer each time, within bounds, and is reported after a few failures."""

from __future__ import annotations

from crawlers.sources import SourceConfig
from patrol.ops.backoff import BackoffPolicy
from patrol.ops.scheduler import interval_of


def test_first_failure_keeps_the_interval_then_the_wait_doubles() -> None:
    policy = BackoffPolicy(jitter=0.0)
    assert policy.delay_s("forum", 300, 0) == 300
    assert policy.delay_s("forum", 300, 1) == 300
    assert policy.delay_s("forum", 300, 2) == 600
    assert policy.delay_s("forum", 300, 3) == 1200


def test_wait_is_capped_and_never_shorter_than_the_interval() -> None:
    policy = BackoffPolicy(max_delay_s=3600)
    assert policy.delay_s("forum", 300, 50) == 3600
    assert policy.delay_s("forum", 300, 10_000) == 3600
    assert BackoffPolicy(max_delay_s=60).delay_s("slow", 600, 5) == 600


def test_jitter_is_small_and_the_same_for_the_same_failure() -> None:
    policy = BackoffPolicy(jitter=0.1)
    waits = {policy.delay_s(f"source-{n}", 100, 3) for n in range(50)}
    assert all(400 <= w <= 440 for w in waits)
    assert len(waits) > 10, "sources that failed together should not retry in lockstep"
    assert policy.delay_s("forum", 100, 3) == policy.delay_s("forum", 100, 3)


def test_reported_after_three_failures() -> None:
    policy = BackoffPolicy()
    assert [policy.is_reported(n) for n in range(5)] == [False, False, False, True, True]


def test_interval_from_the_file_else_the_command_line() -> None:
    own = SourceConfig.model_validate(
        {"id": "a", "kind": "discuz", "start_urls": ["http://a.test/"], "interval_s": 90}
    )
    default = SourceConfig.model_validate({"id": "b", "kind": "discuz", "start_urls": ["http://b.test/"]})
    assert interval_of(own, 300) == 90
    assert interval_of(default, 300) == 300
