"""Notifier service settings: environment variables prefixed NOTIFIER_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from lendkit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "notifier"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/notifier"
    http_port: int = 8003

    run_dispatcher: bool = True
    """Send queued and due deferred attempts in the background (after commit)."""
    dispatch_interval_ms: int = 1000
    webhook_url: str | None = None
    """An integrator's send endpoint; without it every channel goes to the sandbox provider."""
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 3
    business_timezone: str = "Asia/Shanghai"
    """The platform's business timezone (as the ledger's): the simulated clock's time of day
    (``POST /clock``) is read in it."""
