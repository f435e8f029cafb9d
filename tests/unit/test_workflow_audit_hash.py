"""The audit hash: canonical, and sensitive to every field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patrol.workflow.audit import GENESIS_HASH, Anchor, canonical_json, changed_fields, entry_hash

AT = datetime(2026, 11, 27, 13, 5, 0, 123456, tzinfo=UTC)
ROW = {
    "seq": 1,
    "at": AT,
    "actor": "olga",
    "action": "item.claimed",
    "entity_type": "review_item",
    "entity_id": "ri-1",
    "before_json": '{"status":"new"}',
    "after_json": '{"status":"claimed"}',
    "prev_hash": GENESIS_HASH,
}


def test_canonical_json_is_key_order_independent_and_keeps_chinese() -> None:
    assert canonical_json({"b": 1, "a": "香坊"}) == canonical_json({"a": "香坊", "b": 1}) == '{"a":"香坊","b":1}'
    assert canonical_json({"at": AT}) == '{"at":"2026-11-27T13:05:00.123456+00:00"}'


@pytest.mark.parametrize("field", sorted(ROW))
def test_changing_any_field_changes_the_hash(field: str) -> None:
    original = entry_hash(**ROW)  # type: ignore[arg-type]
    changed = dict(ROW)
    value = ROW[field]
    changed[field] = (
        value + 1
        if isinstance(value, int)
        else (value.replace(microsecond=0) if isinstance(value, datetime) else f"{value}x")
    )
    assert entry_hash(**changed) != original  # type: ignore[arg-type]


def test_anchor_parsing_and_changed_fields() -> None:
    assert Anchor.parse(f"12:{'A' * 64}") == Anchor(12, "a" * 64)
    with pytest.raises(ValueError, match="SEQ:SHA256HEX"):
        Anchor.parse("12:abc")
    assert changed_fields({"status": "new", "by": None}, {"status": "claimed", "by": None}) == (
        {"status": "new"},
        {"status": "claimed"},
    )
