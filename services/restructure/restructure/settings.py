"""Restructure service settings: environment variables prefixed RESTRUCTURE_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from lendkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESTRUCTURE_", extra="ignore", frozen=True)

    service_name: str = "restructure"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/restructure"
    http_port: int = 8004
