"""Settings: env FIREBREAK_* (nested with __), an optional firebreak.yaml, then defaults.

Priority: init kwargs > env > .env > firebreak.yaml (path from FIREBREAK_CONFIG) > defaults.
Nothing reads settings at import time: call `get_settings()` and pass the result down.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8700
    max_body_bytes: int = Field(16 * 1024 * 1024, description="largest accepted request body")
    max_batch_events: int = Field(10_000, description="largest accepted ingest batch")
    max_field_chars: int = Field(200_000, description="longest accepted text field")
    public_url: str | None = Field(None, description="URL used in links sent to people")


class RedactionSettings(BaseModel):
    """What ingest redacts before an event is stored."""

    enabled: bool = True
    hash_ids: bool = True
    emails: bool = True
    phones: bool = True
    cards: bool = True
    api_keys: bool = True
    salt: SecretStr = SecretStr("firebreak")


class Settings(BaseSettings):
    """Effective Firebreak settings."""

    model_config = SettingsConfigDict(
        env_prefix="FIREBREAK_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = "sqlite:///./firebreak.db"
    data_dir: Path = Path(".firebreak")
    log_format: str = Field("auto", description="auto | json | console")
    log_level: str = "info"
    bootstrap_token: SecretStr | None = Field(
        None, description="an admin token accepted without being stored (first start, tests)"
    )
    api: ApiSettings = ApiSettings()
    redaction: RedactionSettings = RedactionSettings()
    # Sections owned by later stages; free-form until their owners pin them down.
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_path = Path(os.environ.get("FIREBREAK_CONFIG", "firebreak.yaml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if yaml_path.is_file():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path))
        sources.append(file_secret_settings)
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use."""
    return Settings()


def masked(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with every secret replaced by '**********'."""
    return settings.model_dump(mode="json")  # SecretStr dumps masked in json mode
