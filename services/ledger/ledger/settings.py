"""Ledger service settings: environment variables prefixed LEDGER_."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from lendkit.business_clock import DEFAULT_MAX_CATCH_UP_DAYS
from lendkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)

    service_name: str = "ledger"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/ledger"
    http_port: int = 8001
    # A close of business closes every unclosed day up to its date; at most this many at once.
    max_catch_up_days: int = Field(default=DEFAULT_MAX_CATCH_UP_DAYS, ge=1, le=3_660)
    #: The timezone whose date is "today" for a close of business (loans have their own,
    #: for their payments and what they owe).
    business_timezone: str = "Asia/Shanghai"
    #: A simulated business clock (LEDGER_SIMULATED_CLOCK=true: simulations and tests):
    #: any day may be closed (no "after today" refusal), and "today" is the day after the
    #: last closed business day. Never in production.
    simulated_clock: bool = False
    #: After a close of business, ``/owed`` says a loan in arrears is still settling (the
    #: overdue service's penalty for the day may still arrive) until its penalty for that
    #: day is booked, or for at most this many seconds after the close.
    penalty_settle_seconds: int = Field(default=120, ge=0, le=86_400)
    #: ``GET /reconciliation`` and ``cli reconcile`` list the mismatches of at most this
    #: many mismatching loans (by loan id); all are counted.
    reconciliation_loans_listed: int = Field(default=1_000, ge=1, le=100_000)

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value
