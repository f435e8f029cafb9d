"""The workflow's data files, routing and the role table."""

from __future__ import annotations

from pathlib import Path

import pytest

from patrol.datafiles import ConfigFileError, load_yaml_model
from patrol.workflow.actors import ROLE_PERMISSIONS, Actor, Permission, Role, require
from patrol.workflow.errors import InvalidInput, PermissionDenied
from patrol.workflow.policy import RosterPolicy, SlaPolicy, WorkflowFiles, load_workflow_policy
from patrol.workflow.units import route_task


def test_shipped_files_load_and_categories_can_override_targets() -> None:
    policy = load_workflow_policy()
    assert policy.sla.priority_for("self_harm") == "urgent" and policy.sla.priority_for("gambling") == "low"
    assert policy.sla.target("self_harm", "urgent").dispatch == 10
    assert policy.sla.target("fraud", "urgent") == policy.sla.target("default", "urgent")
    assert [s.name for s in policy.roster.shifts] == ["night", "day", "evening"]
    assert {r.code for r in policy.dismiss_reasons.reasons} == {
        "false_positive",
        "not_actionable",
        "out_of_jurisdiction",
        "duplicate",
    }
    assert "xf-heping" in policy.units and policy.units.get("xf-heping").name == "和平路派出所"
    with pytest.raises(InvalidInput, match="unknown priority"):
        policy.sla.target("fraud", "whenever")
    with pytest.raises(InvalidInput, match="unknown dismiss reason"):
        policy.dismiss_reasons.get("politics")


def test_a_wrong_sla_file_names_the_file_and_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(
        "priorities: [urgent]\ntargets:\n  default:\n    urgent: {acknowledge: 30, dispatch: 10, verify: 60}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError, match="acknowledge <= dispatch <= verify") as error:
        load_yaml_model(path, SlaPolicy)
    assert str(path) in str(error.value)
    path.write_text(
        "priorities: [urgent]\ntargets:\n  default:\n    urgent: {acknowledge: 1, dispatch: 2, verify: 3}\n"
        "  politics:\n    urgent: {acknowledge: 1, dispatch: 2, verify: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError, match="unknown category"):
        load_yaml_model(path, SlaPolicy)


def test_a_wrong_roster_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text('shifts:\n  - {name: a, start: "08:00"}\n  - {name: b, start: "08:00"}\n', encoding="utf-8")
    with pytest.raises(ConfigFileError, match="same time"):
        load_yaml_model(path, RosterPolicy)
    path.write_text('timezone: Mars/Olympus\nshifts:\n  - {name: a, start: "25:00"}\n', encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_yaml_model(path, RosterPolicy)
    assert "timezone" in str(error.value) and "HH:MM" in str(error.value)


def test_an_unknown_fallback_unit_is_refused(tmp_path: Path) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text("fallback_unit: moon-base\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="moon-base"):
        load_workflow_policy(WorkflowFiles(routing=routing))


def test_routing_prefers_override_then_jurisdiction_then_fallback() -> None:
    units = load_workflow_policy().units
    assert route_task(units, "xf-heping", override="dl-qunli", fallback=None).routed_by == "override"
    assert route_task(units, "xf-heping", override=None, fallback="dw-jingyu").unit_id == "xf-heping"
    fallback = route_task(units, "somewhere-else", override=None, fallback="dw-jingyu")
    assert (fallback.unit_id, fallback.routed_by) == ("dw-jingyu", "fallback")
    with pytest.raises(InvalidInput, match="choose a unit"):
        route_task(units, None, override=None, fallback=None)


def test_role_table() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert ROLE_PERMISSIONS[Role.ANALYST] == {Permission.STATS_READ}
    assert Permission.ITEMS_READ not in ROLE_PERMISSIONS[Role.FIELD_UNIT]
    assert Permission.TASKS_MANAGE in ROLE_PERMISSIONS[Role.REVIEWER]
    assert Permission.TASKS_MANAGE not in ROLE_PERMISSIONS[Role.PATROL_OFFICER]
    with pytest.raises(PermissionDenied, match=r"ana \(analyst\) may not items\.triage"):
        require(Actor("ana", Role.ANALYST), Permission.ITEMS_TRIAGE)
