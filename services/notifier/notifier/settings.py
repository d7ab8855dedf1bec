"""Notifier service settings: environment variables prefixed NOTIFIER_."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from lendkit.settings import ServiceSettings

#: Three years (and a leap day) of contact-attempt history.
THREE_YEARS_DAYS = 3 * 365 + 1


class WebhookEndpoint(BaseModel):
    """One integrator's send endpoint; a channel's endpoints are tried by ``priority``."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    url: str
    priority: int = 100
    channels: list[str] = Field(default_factory=lambda: ["push", "sms", "email"])


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "notifier"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/notifier"
    http_port: int = 8003

    run_dispatcher: bool = True
    """Send queued and due deferred attempts in the background (after commit)."""
    dispatch_interval_ms: int = 1000
    webhook_url: str | None = None
    """An integrator's send endpoint (named ``webhook``); without any webhook every channel
    goes to the sandbox provider."""
    webhooks: list[WebhookEndpoint] = Field(default_factory=list)
    """More endpoints (JSON list), with ``webhook_url`` failed over to by priority."""
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 3
    webhook_backoff_s: float = 0.2

    breaker_failure_threshold: int = Field(default=5, ge=1)
    """Consecutive failures of a provider that open its circuit breaker."""
    breaker_reset_after_s: float = Field(default=30.0, gt=0)
    """How long an open breaker skips its provider before one half-open trial."""

    provider_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    """HMAC-SHA256 secret per provider name, for its signed delivery receipts (JSON object).
    A provider without a secret cannot post receipts (401)."""

    attempt_retention_days: int = Field(default=THREE_YEARS_DAYS, ge=30)
    """Contact-attempt history is kept this long, then purged (the only delete allowed)."""
    run_attempt_retention: bool = True
    attempt_retention_interval_s: float = Field(default=86_400.0, gt=0)
    business_timezone: str = "Asia/Shanghai"
    """The platform's business timezone (as the ledger's): the simulated clock's time of day
    (``POST /clock``) is read in it."""
