"""How the demo site writes times: Discuz's relative wording for young posts, m.weibo.cn's
created_at, and the template helpers behind the generated text."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from demo.clock import DEFAULT_NOW, SITE_TZ, discuz_absolute, discuz_relative, weibo_created_at
from demo.places import load_places
from demo.template import SlotFiller, light_edit

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SITE_TZ)


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(seconds=20), "刚刚"),
        (timedelta(minutes=5), "5 分钟前"),
        (timedelta(minutes=40), "半小时前"),
        (timedelta(hours=3, minutes=10), "3 小时前"),
        (timedelta(hours=12, minutes=55), "昨天 21:05"),
        (timedelta(days=1), None),
        (timedelta(days=3), None),
    ],
)
def test_discuz_relative(ago: timedelta, expected: str | None) -> None:
    assert discuz_relative(NOW - ago, NOW) == expected


def test_discuz_absolute_is_shanghai_local_time() -> None:
    assert discuz_absolute(datetime(2026, 11, 27, 13, 5, tzinfo=UTC)) == "2026-11-27 21:05"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (NOW - timedelta(seconds=30), "刚刚"),
        (NOW - timedelta(minutes=5), "5分钟前"),
        (NOW - timedelta(hours=3), "3小时前"),
        (datetime(2026, 11, 27, 21, 5, tzinfo=SITE_TZ), "昨天 21:05"),
        (datetime(2026, 11, 25, 8, 0, tzinfo=SITE_TZ), "11-25"),
        (datetime(2025, 11, 27, 8, 0, tzinfo=SITE_TZ), "2025-11-27"),
    ],
)
def test_weibo_created_at(when: datetime, expected: str) -> None:
    assert weibo_created_at(when, NOW) == expected


def test_default_clock_is_fixed_and_aware() -> None:
    assert DEFAULT_NOW.utcoffset() == timedelta(hours=8)
    assert datetime(2026, 11, 28, 2, 0, tzinfo=UTC) == DEFAULT_NOW


def test_slots_share_values_within_one_post_and_prefer_the_board_district() -> None:
    filler = SlotFiller(load_places(), random.Random(1), "香坊区")
    text, title = filler.fill_all(["{community}{building}燃气泄漏", "{community}出事了"])
    assert text.startswith(title.removesuffix("出事了"))
    streets = [filler.fill("{street}|{street2}") for _ in range(20)]
    assert all(a != b for a, b in (s.split("|") for s in streets))
    with pytest.raises(KeyError, match="unknown slot"):
        filler.fill("{nonsense}")


def test_light_edit_keeps_a_near_duplicate() -> None:
    rng = random.Random(5)
    original = "通乡社区3号楼燃气泄漏 味道很大 还没人管，打了物业电话也没人来！"
    for _ in range(20):
        edited = light_edit(original, rng)
        assert edited != original
        assert len(set(edited) & set(original)) >= 0.8 * len(set(original))
