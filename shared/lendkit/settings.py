"""Typed configuration from the environment, one prefix per service (LEDGER_, OVERDUE_, ...)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service has. A service subclasses this and sets its own env prefix.

    Defaults match the local infrastructure started by ``scripts/infra``.
    """

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore", frozen=True)

    service_name: str = "service"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/postgres"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_client_id: str | None = None
    #: Prefix for every physical topic name (e.g. "staging." or a test run's id), so
    #: several environments can share one cluster. Empty in production.
    topic_namespace: str = ""
    consumer_group: str | None = None
    consumer_batch_size: int = Field(default=200, ge=1, le=10_000)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    consumer_retry_backoff_max_ms: int = Field(default=10_000, ge=0)
    #: How long one event may be retried before it is dead-lettered and its key parked: the
    #: longest its failures hold up the other keys of its partition (unless the database
    #: itself is unreachable, when every key waits anyway).
    consumer_key_retry_budget_ms: int = Field(default=5_000, ge=0)
    run_consumers: bool = True

    run_outbox_relay: bool = True
    outbox_batch_size: int = Field(default=500, ge=1, le=50_000)
    outbox_poll_interval_ms: int = Field(default=1_000, ge=10)
    outbox_retention_hours: int = Field(default=72, ge=1)

    #: Pruning of the kit's bookkeeping (hourly, in every process that runs it). A processed
    #: event's record must outlive every copy of the event that can still arrive: keep it
    #: longer than the topics' retention and than dead letters wait for a replay.
    run_kit_retention: bool = True
    processed_events_retention_days: int = Field(default=30, ge=1)
    #: A client may retry a POST with the same Idempotency-Key for this long.
    idempotency_keys_retention_hours: int = Field(default=168, ge=1)

    jwt_secret: SecretStr = SecretStr("dev-only-secret-change-me-please-32b")
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "overdue-platform"
    jwt_audience: str = "overdue-platform"

    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    @property
    def group_id(self) -> str:
        return self.consumer_group or self.service_name
