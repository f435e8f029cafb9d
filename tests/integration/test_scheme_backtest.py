"""Backtest figures (matches, per day, examples, against the current version) and the CLI around them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol.commands.scheme import app
from patrol.config import load_settings
from patrol.schema import AnalysedPost, Analysis
from patrol.schemes.backtest import preview
from patrol.schemes.context import MatchContext
from patrol.schemes.environment import SchemeEnvironment
from patrol.schemes.registry import SchemeSpec, add_scheme
from patrol.store.sqlite import SqlitePostStore
from tests.conftest import make_post

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 12:00 on the 27th in Harbin
CONTEXT = MatchContext()
COPY = 0x0F0F_F0F0_1234_5678


def stored(native_id: str, text: str, days_ago: float, simhash: int) -> AnalysedPost:
    post = make_post(native_id, text).model_copy(update={"published_at": NOW - timedelta(days=days_ago)})
    normalized = CONTEXT.normalize(text)
    analysis = Analysis(
        post_id=post.id,
        normalized_text=normalized,
        tokens=CONTEXT.cut(normalized),
        keywords=[],
        risk_scores={},
        simhash=simhash,
    )
    return AnalysedPost(post=post, analysis=analysis)


POSTS = [
    stored("a", "香坊燃气泄漏，整栋楼都闻到了", 1, COPY),
    stored("b", "转：香坊燃气泄漏，整栋楼都闻到了", 0.9, COPY ^ 0b1),
    stored("c", "小区燃气泄漏应急演练", 3, 0x1111),
    stored("d", "煤气泄漏了怎么办", 2, 0x2222_0000),
    stored("e", "今天吃了锅包肉", 2, 0x3333_0000_0000),
    stored("f", "燃气泄漏的老新闻", 10, 0x4444),
]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SchemeEnvironment]:
    settings = load_settings(data_dir=tmp_path / "data")
    store = SqlitePostStore(settings.sqlite_path)
    store.upsert(POSTS)
    store.close()
    with SchemeEnvironment(settings) as environment:
        yield environment


def test_matches_per_local_day_and_one_example_per_near_duplicate_group(env: SchemeEnvironment) -> None:
    result = preview(env, "燃气 泄漏", days=7, now=NOW)
    assert (result.matches, result.posts_scanned) == (3, 5)  # f is ten days old
    assert result.per_day["2026-11-26"] == 2 and result.per_day["2026-11-24"] == 1
    assert sum(result.per_day.values()) == result.matches
    assert list(result.per_day) == [f"2026-11-{d}" for d in range(20, 28)]  # every local day, zeros too
    assert [e.post_id for e in result.examples] == ["test-forum:b", "test-forum:c"]  # newest of the copies
    assert result.examples[0].terms == ["燃气", "泄漏"]
    assert "燃气泄漏" in result.examples[0].snippet
    assert result.current is None


def test_against_the_current_version(env: SchemeEnvironment) -> None:
    with env.workflow.session() as session:
        add_scheme(
            session,
            SchemeSpec(name="gas", purpose="燃气泄漏", owner="li", query="燃气 泄漏"),
            actor="li",
            context=CONTEXT,
            now=NOW,
        )
    narrower = preview(env, "燃气 泄漏 NOT 演练", days=7, name="gas", now=NOW)
    assert narrower.current is not None
    assert (narrower.matches, narrower.current.matches) == (2, 3)
    assert (narrower.current.only_new, narrower.current.only_current) == (0, 1)
    assert [e.post_id for e in narrower.current.examples_only_current] == ["test-forum:c"]
    wider = preview(env, "(燃气 OR 煤气) 泄漏", days=7, name="gas", now=NOW)
    assert wider.current is not None and wider.current.only_new == 1
    assert [e.post_id for e in wider.current.examples_only_new] == ["test-forum:d"]


# -- the CLI ------------------------------------------------------------------------------------

runner = CliRunner()
CENTURY = "36500"


def cli(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def test_cli_add_list_preview_change_show_delete(env: SchemeEnvironment) -> None:
    data = env.settings.data_dir
    # The commands count back from the real clock; a century covers the fixed test dates whenever it runs.
    code, out = cli(data, "preview", "--query", "燃气 泄漏", "--days", CENTURY, "--json")
    assert code == 0, out
    figures = json.loads(out)
    assert {"matches", "per_day", "examples"} <= set(figures) and figures["matches"] == 4

    code, out = cli(
        data,
        "add",
        "香坊燃气",
        "--purpose",
        "跟踪香坊燃气泄漏",
        "--query",
        "燃气 泄漏",
        "--subscriber",
        "unit:xf-branch,quiet=22:00-07:00",
        "--mode",
        "digest",
        "--digest",
        "hourly",
        "--yes",
        "--by",
        "li",
    )
    assert code == 0, out
    assert "would have matched" in out and "saved scheme 香坊燃气" in out

    code, out = cli(data, "list", "--json")
    [listed] = json.loads(out)
    assert (listed["name"], listed["purpose"], listed["alert_mode"], listed["digest_period"]) == (
        "香坊燃气",
        "跟踪香坊燃气泄漏",
        "digest",
        "hourly",
    )
    assert listed["owner"] == "li" and listed["subscribers"][0]["quiet_start"] == "22:00"

    code, out = cli(
        data,
        "change",
        "香坊燃气",
        "--query",
        "燃气 泄漏 NOT 演练",
        "--days",
        CENTURY,
        "--yes",
        "--by",
        "wang",
        "--json",
    )
    assert code == 0, out
    changed = json.loads(out)
    assert changed["scheme"]["version"] == 2
    assert changed["backtest"]["current"]["only_current"] == 1

    code, out = cli(data, "backfill", "香坊燃气", "--days", CENTURY, "--json")
    assert code == 0 and json.loads(out)["new_matches"] == 3  # a, its copy b, and the old f; not the drill c
    assert json.loads(out)["recorded"]["added"] == 3  # the post store can filter by the scheme now

    code, out = cli(data, "show", "香坊燃气", "--days", CENTURY, "--json")
    shown = json.loads(out)
    assert [(h["action"], h["actor"]) for h in shown["history"]] == [("scheme.add", "li"), ("scheme.change", "wang")]
    summary = shown["summary"]
    assert (summary["matches"], summary["groups"]) == (3, 2)
    assert summary["top_terms"] == [["燃气", 3], ["泄漏", 3]]
    first = summary["top_posts"][0]
    assert (first["post_id"], first["copies"]) == ("test-forum:a", 2)
    assert first["snippet"].startswith("香坊燃气泄漏")

    code, out = cli(data, "delete", "香坊燃气", "--yes", "--by", "li")
    assert code == 0 and "deleted scheme 香坊燃气" in out
    code, out = cli(data, "list", "--json")
    assert json.loads(out) == []


def test_cli_errors_point_at_the_problem(env: SchemeEnvironment) -> None:
    data = env.settings.data_dir
    code, out = cli(data, "preview", "--query", "(燃气 OR 煤气")
    assert code == 2
    assert 'expected ")" to close the "(" at column 1' in out and "^" in out
    code, out = cli(data, "add", "x", "--purpose", "p", "--query", "燃气 category:枪支", "--yes", "--no-preview")
    assert code == 2 and "unknown category '枪支'" in out
    code, out = cli(data, "add", "x", "--purpose", "  ", "--query", "燃气", "--yes")
    assert code == 1 and "purpose" in out
    code, out = cli(data, "change", "nope", "--purpose", "p")
    assert code == 1 and "no scheme named 'nope'" in out
    code, out = cli(data, "add", "x", "--purpose", "p", "--query", "燃气", "--start", "tomorrow", "--yes")
    assert code == 1 and "--start 'tomorrow'" in out
