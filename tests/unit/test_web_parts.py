"""Small console parts: login rate limiting, return paths, timers, SVG charts, backtest inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nlp.lexicon import LexiconFile
from patrol.config import NLP_RESOURCES_DIR
from patrol.datafiles import load_yaml_model
from patrol.thresholds import Thresholds
from patrol.web.backtest import RuleChange, changed_lexicon, parse_rule_change, parse_thresholds
from patrol.web.charts import Series, bar_chart, line_chart
from patrol.web.ratelimit import LoginRateLimiter
from patrol.web.session import safe_return_path
from patrol.web.timefmt import countdown, local_time, sla_state
from patrol.workflow.errors import InvalidInput

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)


def test_rate_limit_per_account_and_per_address() -> None:
    limiter = LoginRateLimiter(max_failures_per_address=4, max_failures_per_account=3, window=timedelta(minutes=5))
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1", "olga", now=NOW) == 0
        limiter.failed("10.0.0.1", "olga", now=NOW)
    assert limiter.retry_after("10.0.0.1", "Olga ", now=NOW) == 300, "the same account, however it is typed"
    assert limiter.retry_after("10.0.0.1", "sam", now=NOW) == 0
    limiter.failed("10.0.0.1", "sam", now=NOW)
    assert limiter.retry_after("10.0.0.1", "sam", now=NOW) == 300, "the address is spent"
    assert limiter.retry_after("10.0.0.2", "sam", now=NOW + timedelta(minutes=1)) == 0
    assert limiter.retry_after("10.0.0.1", "olga", now=NOW + timedelta(minutes=5, seconds=1)) == 0


def test_return_paths_stay_on_the_site() -> None:
    assert safe_return_path("/queue?view=mine", "/") == "/queue?view=mine"
    for bad in ("//evil.test", "https://evil.test", "/\\evil.test", "queue", "", None, "/x\r\nSet-Cookie: a"):
        assert safe_return_path(bad, "/home") == "/home"


def test_times_and_timers() -> None:
    assert local_time(NOW) == "2026-11-27 21:05"
    assert countdown(NOW + timedelta(minutes=4, seconds=5), NOW) == "4m 05s left"
    assert countdown(NOW - timedelta(hours=2, minutes=3), NOW) == "overdue 2h 03m"
    assert [sla_state(NOW + d, NOW) for d in (timedelta(hours=1), timedelta(minutes=2), timedelta(0))] == [
        "ok",
        "soon",
        "breached",
    ]


def test_charts_are_plain_svg_with_escaped_labels() -> None:
    svg = str(line_chart(["11-26", "11-27"], [Series("<script>x</script>", [3, 5]), Series("b", [0, 1])], title='t"'))
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and "<script>" not in svg
    assert "&lt;script&gt;x&lt;/script&gt; (8)" in svg and "style=" not in svg
    bars = str(bar_chart([("燃气", 4), ("<b>", 2)], title="hot"))
    assert bars.count("<rect") == 2 and "&lt;b&gt;" in bars


def test_threshold_form_values() -> None:
    current = Thresholds(default=0.5, categories={"gambling": 0.5})
    proposed = parse_thresholds(current, {"t_gambling": "0.7", "t_fraud": ""})
    assert proposed.for_category("gambling") == 0.7 and proposed.for_category("fraud") == 0.5
    with pytest.raises(InvalidInput, match="not a number"):
        parse_thresholds(current, {"t_fraud": "high"})
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        parse_thresholds(current, {"t_fraud": "1.5"})


def test_a_rule_change_is_applied_to_a_copy_and_validated() -> None:
    lexicon = load_yaml_model(NLP_RESOURCES_DIR / "lexicon.yaml", LexiconFile)
    rule = lexicon.rules[0]
    group = rule.groups[0]
    change = parse_rule_change({"rule_id": rule.id, "weight": "0.2", "group": group, "add_terms": "新词甲，新词乙"})
    assert change == RuleChange(rule.id, 0.2, group, ("新词甲", "新词乙"), ())
    changed = changed_lexicon(lexicon, change)
    assert next(r for r in changed.rules if r.id == rule.id).weight == 0.2
    assert changed.groups[group].terms[-2:] == ["新词甲", "新词乙"]
    assert "新词甲" not in lexicon.groups[group].terms, "the loaded lexicon is untouched"
    with pytest.raises(InvalidInput, match="no rule"):
        changed_lexicon(lexicon, RuleChange("no.such.rule", 0.2))
    with pytest.raises(InvalidInput, match="not valid"):
        changed_lexicon(lexicon, RuleChange(rule.id, 1.5))
