"""Overdue service settings: environment variables prefixed OVERDUE_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from lendkit.business_clock import DEFAULT_MAX_CATCH_UP_DAYS
from lendkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OVERDUE_", extra="ignore", frozen=True)

    service_name: str = "overdue"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/overdue"
    http_port: int = 8002
    # A close of business closes every unclosed day up to its date; at most this many at once.
    max_catch_up_days: int = Field(default=DEFAULT_MAX_CATCH_UP_DAYS, ge=1, le=3_660)
    #: Loans reviewed and committed per close-of-business transaction.
    cob_chunk_size: int = Field(default=5_000, ge=1, le=1_000_000)
