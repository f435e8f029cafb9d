"""One-time messages after a form ("item dismissed", "claimed by someone else"), in a signed cookie.

A message is shown on the next page and then dropped. Signed with a per-process key, so only this
console can set one; the text is escaped like everything else when shown.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

FLASH_COOKIE = "patrol_flash"
FlashKind = Literal["ok", "error"]


@dataclass(frozen=True)
class Flash:
    kind: FlashKind
    text: str


class FlashMessages:
    def __init__(self, secret: str | None = None) -> None:
        self._signer = URLSafeTimedSerializer(secret or secrets.token_urlsafe(32), salt="patrol-flash")

    def set(self, response: Response, kind: FlashKind, text: str, *, secure: bool) -> None:
        value = self._signer.dumps({"kind": kind, "text": text[:2000]})
        response.set_cookie(
            FLASH_COOKIE, value, max_age=120, httponly=True, samesite="strict", secure=secure, path="/"
        )

    def pop(self, request: Request) -> Flash | None:
        raw = request.cookies.get(FLASH_COOKIE)
        if not raw:
            return None
        request.state.clear_flash = True
        try:
            data = self._signer.loads(raw, max_age=300)
        except BadSignature:
            return None
        kind: FlashKind = "error" if data.get("kind") == "error" else "ok"
        return Flash(kind=kind, text=str(data.get("text", "")))
