"""Notifier service settings: environment variables prefixed NOTIFIER_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from lendkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "notifier"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/notifier"
    http_port: int = 8003
