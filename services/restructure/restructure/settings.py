"""Restructure service settings: environment variables prefixed RESTRUCTURE_."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from lendkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESTRUCTURE_", extra="ignore", frozen=True)

    service_name: str = "restructure"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/restructure"
    http_port: int = 8004
    #: "Today" before any close of business was seen: the wall-clock date in this zone.
    #: After one, today is the day after the last business day the ledger closed.
    business_timezone: str = "Asia/Shanghai"

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value
