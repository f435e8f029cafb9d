"""Ids for workflow objects: a readable prefix and a random part, never a database row number."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"
