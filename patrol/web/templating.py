"""Jinja2 templates with autoescaping on for every file, and the filters pages use.

Nothing crawled is ever passed through `|safe`: templates show crawled text with `inert`,
`highlight`, `snippet` or `link`, which escape it themselves (see `patrol.web.inert`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from patrol.schema import CATEGORY_LABELS_ZH, LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES
from patrol.web.flash import FLASH_COOKIE
from patrol.web.inert import external_link, inert, snippet_markup
from patrol.web.session import console_of
from patrol.web.timefmt import countdown, duration_text, local_time, sla_state
from patrol.workflow.actors import Permission

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        localtime=local_time,
        inert=inert,
        snippet=snippet_markup,
        link=external_link,
        duration=duration_text,
        category_zh=lambda c: CATEGORY_LABELS_ZH.get(c or "", ""),
    )
    env.globals.update(
        countdown=countdown,
        sla_state=sla_state,
        CATEGORIES=RISK_CATEGORIES,
        CATEGORY_LABELS_ZH=CATEGORY_LABELS_ZH,
        LIFE_SAFETY=LIFE_SAFETY_CATEGORIES,
        P=Permission,
    )
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200, fragment: bool = False
) -> HTMLResponse:
    """A page (or, with `fragment`, a piece of one for a live refresh, which leaves the flash alone)."""
    console = console_of(request)
    viewer = getattr(request.state, "viewer", None)
    flash = None if fragment else console.flash.pop(request)
    values = {
        "viewer": viewer,
        "flash": flash,
        "now": console.api.clock.now(),
        "units": console.api.policy.units.units,
        "refresh_s": console.queue_refresh_s,
        **context,
    }
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    if getattr(request.state, "clear_flash", False):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
