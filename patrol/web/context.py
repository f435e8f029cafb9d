"""What every console request needs, built once per app and kept on `app.state.console`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from patrol.api.context import ApiContext
from patrol.config import Settings
from patrol.store.base import PostStore
from patrol.thresholds import Thresholds, load_thresholds
from patrol.web.posts import PostReader
from patrol.web.ratelimit import LoginRateLimiter
from patrol.web.saved_searches import SavedSearchStore

CookieSecurity = Literal["auto", "always", "never"]


@dataclass
class ConsoleContext:
    """The workflow (through the API's context), the post store and the console's own parts.

    `cookie_security`: "auto" marks cookies Secure when the request came over HTTPS (directly or,
    with uvicorn's proxy headers, through a TLS-terminating proxy); "always" and "never" force it.
    """

    api: ApiContext
    settings: Settings
    posts: PostStore
    post_reader: PostReader
    saved_searches: SavedSearchStore
    login_limiter: LoginRateLimiter = field(default_factory=LoginRateLimiter)
    cookie_security: CookieSecurity = "auto"
    #: Seconds between the queue page's refreshes.
    queue_refresh_s: int = 10
    #: Where console edits of configuration files go when the configured file is part of the package.
    config_dir: Path | None = None
    #: Builds the lexicon rule backtest's text reader lazily (it loads the segmenter's dictionaries).
    text_reader_factory: Callable[[], object] | None = None

    @property
    def thresholds(self) -> Thresholds:
        return load_thresholds(self.settings.thresholds_file)

    @property
    def editable_config_dir(self) -> Path:
        return self.config_dir or self.settings.data_dir / "config"
