"""All settings in one object: `PATROL_*` environment variables, then an optional `patrol.toml`.

Paths that users edit (sources, thresholds, lexicon, gazetteer) default to the files shipped with
the package; point a setting at your own copy to change them without touching code.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULTS_DIR = PACKAGE_DIR / "defaults"
NLP_RESOURCES_DIR = PACKAGE_DIR.parent / "nlp" / "resources"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PATROL_", toml_file="patrol.toml", extra="ignore", protected_namespaces=()
    )

    data_dir: Path = Field(Path("data"), description="root of the database, landing files, state and models")
    db_path: Path | None = Field(None, description="SQLite file; default <data_dir>/patrol.db")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the workflow database; default the SQLite file above"
    )
    es_url: str | None = Field(None, description="Elasticsearch URL; when set, posts are indexed there too")
    sources_file: Path = Field(DEFAULTS_DIR / "sources.yaml")
    thresholds_file: Path = Field(DEFAULTS_DIR / "thresholds.yaml")
    lexicon_file: Path = Field(NLP_RESOURCES_DIR / "lexicon.yaml")
    gazetteer_file: Path = Field(NLP_RESOURCES_DIR / "gazetteer.yaml")
    user_dict_file: Path = Field(NLP_RESOURCES_DIR / "userdict.txt")
    retention_file: Path = Field(DEFAULTS_DIR / "retention.yaml", description="how long posts and items are kept")
    model_dir: Path | None = Field(None, description="risk model folder; default <data_dir>/models/risk")
    crawl_timeout_s: int = Field(600, description="wall-clock limit for one source's crawl subprocess")
    analyse_batch_size: int = 256

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @cached_property
    def sqlite_path(self) -> Path:
        return self.db_path or self.data_dir / "patrol.db"

    @cached_property
    def workflow_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def risk_model_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models" / "risk"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.landing_dir, self.state_dir, self.reports_dir):
            path.mkdir(parents=True, exist_ok=True)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
