"""Which shift runs when: the roster's local times, across midnight and across a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patrol.workflow.errors import NotFound
from patrol.workflow.policy import RosterPolicy, load_workflow_policy
from patrol.workflow.shifts import next_shift, previous_shift, shift_at, shift_by_id

ROSTER = load_workflow_policy().roster


def test_default_roster_is_three_eight_hour_shifts_in_shanghai_time() -> None:
    # 23:59 on the 27th in Shanghai is 15:59 UTC: the evening shift of the 27th
    evening = shift_at(ROSTER, datetime(2026, 11, 27, 15, 59, tzinfo=UTC))
    assert evening.id == "2026-11-27.evening"
    assert evening.starts_at == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert evening.ends_at - evening.starts_at == timedelta(hours=8)
    night = next_shift(ROSTER, evening)
    assert night.id == "2026-11-28.night" and night.starts_at == evening.ends_at
    assert previous_shift(ROSTER, night) == evening
    assert shift_at(ROSTER, evening.ends_at) == night, "a shift's end belongs to the next shift"


def test_shift_ids_round_trip_and_bad_ids_say_what_they_look_like() -> None:
    slot = shift_at(ROSTER, datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    assert shift_by_id(ROSTER, slot.id) == slot
    for bad in ("2026-13-01.day", "2026-11-27.lunch", "yesterday"):
        with pytest.raises(NotFound, match=r"2026-11-27\.night"):
            shift_by_id(ROSTER, bad)


def test_two_twelve_hour_shifts_across_a_dst_change() -> None:
    roster = RosterPolicy.model_validate(
        {
            "timezone": "Europe/Berlin",
            "shifts": [{"name": "day", "start": "07:00"}, {"name": "night", "start": "19:00"}],
        }
    )
    # the night of 28-29 March 2026 loses an hour when Berlin moves to summer time
    night = shift_by_id(roster, "2026-03-28.night")
    assert night.ends_at - night.starts_at == timedelta(hours=11)
    assert shift_at(roster, night.ends_at).id == "2026-03-29.day"
    ordinary = shift_by_id(roster, "2026-03-27.night")
    assert ordinary.ends_at - ordinary.starts_at == timedelta(hours=12)
