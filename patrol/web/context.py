"""What every console request needs, built once per app and kept on `app.state.console`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from patrol.api.context import ApiContext
from patrol.config import Settings
from patrol.store.base import PostStore
from patrol.thresholds import Thresholds, load_thresholds
from patrol.web.backtest import TextReader
from patrol.web.cache import TtlCache
from patrol.web.flash import FlashMessages
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
    flash: FlashMessages = field(default_factory=FlashMessages)
    #: Figures that may be a minute old: trends, source lists, post counts.
    cache: TtlCache = field(default_factory=TtlCache)
    cookie_security: CookieSecurity = "auto"
    #: Seconds between the queue page's refreshes.
    queue_refresh_s: int = 10
    #: Where console edits of configuration files go when the configured file is part of the package.
    config_dir: Path | None = None
    #: Normalises and segments text as the NLP stage does (rule backtests); loads its dictionaries lazily.
    text_reader: TextReader | None = None

    @property
    def thresholds(self) -> Thresholds:
        return load_thresholds(self.settings.thresholds_file)

    @property
    def editable_config_dir(self) -> Path:
        return self.config_dir or self.settings.data_dir / "config"
