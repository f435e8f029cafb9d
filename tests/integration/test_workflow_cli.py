"""The workflow command line: accounts, roster, channels, a worker tick and `patrol flags stats`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from patrol.commands import flags as flags_cli
from patrol.commands import workflow as workflow_cli
from patrol.thresholds import Thresholds
from patrol.workflow import items as review
from patrol.workflow.actors import Actor, Role
from patrol.workflow.audit import audit_rows
from patrol.workflow.db import WorkflowDb
from patrol.workflow.flagging import open_review_items
from patrol.workflow.policy import load_workflow_policy
from tests.conftest import BASE_TIME, make_analysed

OLGA = Actor("olga", Role.PATROL_OFFICER)


def test_accounts_roster_and_channels_from_the_command_line(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    runner = CliRunner()
    made = runner.invoke(
        workflow_cli.app,
        ["users", "add", "sam", "--role", "reviewer", "--email", "sam@desk.example", "--password-stdin", *data],
        input="a long enough password\n",
    )
    assert made.exit_code == 0, made.output
    refused = runner.invoke(
        workflow_cli.app,
        ["users", "add", "unit1", "--role", "field_unit", "--password-stdin", *data],
        input="a long enough password\n",
    )
    assert refused.exit_code == 2 and "needs its unit" in refused.output
    listed = runner.invoke(workflow_cli.app, ["users", "list", *data])
    assert "sam" in listed.output and "reviewer" in listed.output
    assigned = runner.invoke(workflow_cli.app, ["roster", "assign", "2026-11-27.day", "sam:supervisor", *data])
    assert assigned.exit_code == 0, assigned.output
    shown = runner.invoke(workflow_cli.app, ["roster", "show", "2026-11-27.day", *data])
    assert "2026-11-27 08:00 - 2026-11-27 16:00 (Asia/Shanghai)" in shown.output and "sam (supervisor)" in shown.output
    channel = runner.invoke(
        workflow_cli.app,
        [
            "channels",
            "add",
            "desk",
            "--kind",
            "webhook",
            "--topic",
            "item.*",
            "--config",
            '{"url": "http://127.0.0.1:9/h", "secret": "0123456789abcdef"}',
            *data,
        ],
    )
    assert channel.exit_code == 0, channel.output
    tick = runner.invoke(workflow_cli.app, ["worker", "--once", *data])
    assert tick.exit_code == 0, tick.output
    assert json.loads(tick.output)["expired_claims"] == 0


def test_flags_stats_shows_precision_per_category_rule_and_source(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = WorkflowDb(f"sqlite:///{data_dir / 'patrol.db'}")
    policy = load_workflow_policy()
    posts = [
        make_analysed("1", "x", ["x"], scores={"gambling": 0.9}, simhash=0),
        make_analysed("2", "y", ["y"], scores={"gambling": 0.9}, simhash=0, source_id="tieba"),
        make_analysed("3", "z", ["z"], scores={"fraud": 0.9}, simhash=0),
    ]
    with db.session() as s:
        open_review_items(s, posts, Thresholds(default=0.5), max_distance=3, now=BASE_TIME)
    with db.session() as s:
        for _ in range(2):
            item = review.claim_next(s, policy, OLGA, now=BASE_TIME, category="gambling")
            assert item is not None
            reason = "false_positive" if item.source_id == "tieba" else "out_of_jurisdiction"
            review.dismiss_item(s, policy, OLGA, item.id, reason=reason, note="道外", now=BASE_TIME)
    db.dispose()
    result = CliRunner().invoke(flags_cli.app, ["stats", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    gambling = next(r for r in report["by_category"] if r["key"] == "gambling")
    assert (gambling["true_positive"], gambling["false_positive"], gambling["precision"]) == (1, 1, 0.5)
    assert {r["key"]: r["precision"] for r in report["by_source"]} == {"test-forum": 1.0, "tieba": 0.0}
    assert {r["key"] for r in report["by_rule"]} == {"lexicon:gambling.test", "lexicon:fraud.test"}
    assert report["total"]["pending"] == 1
    table = CliRunner().invoke(flags_cli.app, ["stats", "--data-dir", str(data_dir)])
    assert "precision by rule" in table.output and "赌博" in table.output


def test_showing_flag_details_on_the_command_line_is_audited(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = WorkflowDb(f"sqlite:///{data_dir / 'patrol.db'}")
    with db.session() as s:
        open_review_items(
            s,
            [make_analysed("1", "x", ["x"], scores={"drugs": 0.9})],
            Thresholds(default=0.5),
            max_distance=3,
            now=BASE_TIME,
        )
    shown = CliRunner().invoke(flags_cli.app, ["--data-dir", str(data_dir), "--json"])
    assert shown.exit_code == 0 and json.loads(shown.output)[0]["copies"][0]["evidence"]
    with db.read_session() as s:
        views = [row for row in audit_rows(s) if row.action == "item.viewed"]
    db.dispose()
    assert len(views) == 1 and views[0].actor.startswith("cli:")
