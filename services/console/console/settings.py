"""Console settings: environment variables prefixed CONSOLE_.

The console has no database. It verifies the login token (audience ``console``) with its own
JWT settings and calls each service with a token it mints for that service's audience,
signed with that service's secret (``CONSOLE_<SERVICE>_JWT_SECRET``; the development secret
in development mode, as ``scripts/up.sh`` runs the platform).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from lendkit.contracts.topics import CONSUMER_GROUPS
from lendkit.settings import DEVELOPMENT_JWT_SECRET, ServiceSettings

SERVICES = ("ledger", "overdue", "notifier", "restructure")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", frozen=True)

    service_name: str = "console"
    http_port: int = 8005
    run_consumers: bool = False
    run_outbox_relay: bool = False
    run_kit_retention: bool = False

    ledger_url: str = "http://127.0.0.1:8001"
    overdue_url: str = "http://127.0.0.1:8002"
    notifier_url: str = "http://127.0.0.1:8003"
    restructure_url: str = "http://127.0.0.1:8004"
    ledger_jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    overdue_jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    notifier_jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    restructure_jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    #: Seconds one call to a service may take before its panel shows "unavailable".
    service_timeout_seconds: float = Field(default=5.0, gt=0)

    #: Dates and times are shown in this timezone (the platform's business timezone).
    business_timezone: str = "Asia/Shanghai"
    default_locale: str = "zh-CN"
    #: Loans per page of the loans list (the ledger's paginated list; at most 200).
    loans_page_size: int = Field(default=50, ge=1, le=200)
    #: Portfolio charts cover this many closed business days by default.
    portfolio_days: int = Field(default=14, ge=1, le=120)
    #: Live events kept in memory for a new viewer (the newest).
    live_buffer: int = Field(default=300, ge=10, le=10_000)
    #: Records read back per partition for a loan's timeline and the topic-derived figures.
    history_records: int = Field(default=20_000, ge=100, le=1_000_000)
    #: The consumer groups whose lag and dead letters the live-events page shows.
    consumer_groups: tuple[str, ...] = CONSUMER_GROUPS
    #: The login cookie is sent over HTTPS only (set true behind TLS).
    secure_cookies: bool = False

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    def service_secret(self, service: str) -> SecretStr:
        secret = getattr(self, f"{service}_jwt_secret")
        assert isinstance(secret, SecretStr)
        return secret
