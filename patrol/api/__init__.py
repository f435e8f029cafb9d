"""The JSON API over the review workflow (FastAPI); `create_app` builds it, the web console uses it."""

from patrol.api.app import create_app, create_app_from_settings

__all__ = ["create_app", "create_app_from_settings"]
