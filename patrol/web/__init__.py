"""The patrol console: server-rendered pages for the rota roles (officer, reviewer, field unit,
analyst, admin) over the review workflow and the post store, hardened against hostile crawled text.

- `create_console_app(context)` builds the FastAPI app; `build_console_context(settings)` its parts;
- `start_console_in_thread(settings, host, port)` and `ensure_demo_users(settings)` serve `patrol demo`;
- `patrol serve` (`patrol.commands.serve`) runs it in the foreground.
"""

from patrol.web.app import create_console_app
from patrol.web.build import build_console_context, start_console
from patrol.web.demo import ensure_demo_users, start_console_in_thread

__all__ = [
    "build_console_context",
    "create_console_app",
    "ensure_demo_users",
    "start_console",
    "start_console_in_thread",
]
