"""Typed configuration from the environment, one prefix per service (LEDGER_, OVERDUE_, ...)."""

from __future__ import annotations

import os

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The secret the defaults carry, for development only: anyone can read it here.
DEVELOPMENT_JWT_SECRET = "dev-only-secret-change-me-please-32b"  # noqa: S105 - public by design
#: HS256 keys shorter than the hash (32 bytes) are refused outside development mode.
MIN_JWT_SECRET_BYTES = 32


class ServiceSettings(BaseSettings):
    """Settings every service has. A service subclasses this and sets its own env prefix.

    Defaults match the local infrastructure started by ``scripts/infra``.
    """

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore", frozen=True)

    service_name: str = "service"
    database_url: str = "postgresql+asyncpg://postgres:platform@127.0.0.1:54329/postgres"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    #: Test each pooled connection before a transaction uses it. SQLAlchemy's asyncpg ping
    #: costs three round trips (BEGIN, ``;``, ROLLBACK) on every checkout, a quarter of a
    #: payment's statements (docs/performance.md). Off by default: a connection the
    #: database dropped fails its one statement, SQLAlchemy invalidates it and the pool
    #: makes a new one; the transaction rolls back and the caller's retry (an idempotent
    #: POST, a consumer's redelivery) succeeds.
    db_pool_pre_ping: bool = False

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

    #: Development mode (``*_DEVELOPMENT_MODE=true``: ``scripts/up.sh``, the test suites, the
    #: benchmarks) allows the published development JWT secret. Outside it a process that
    #: verifies or issues tokens (``lendkit.auth.TokenCodec``: every service and its ops
    #: commands) refuses to start with that secret or one shorter than 32 bytes.
    development_mode: bool = False
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "overdue-platform"
    #: The audience a token must name; default: the service's name, so a token minted for
    #: one service is refused by the others.
    jwt_audience: str | None = None
    #: Request bodies larger than this are refused with 413 before they are read whole.
    http_max_body_bytes: int = Field(default=262_144, ge=1_024)

    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    #: uvicorn worker processes (``python -m <service>``); 0: one per core. Each worker runs
    #: the service's background loops: the outbox relays elect one publisher per batch (an
    #: advisory lock), the consumers share the partitions as one consumer group, the
    #: notifier's dispatchers claim messages with ``SKIP LOCKED``.
    http_workers: int = Field(default=1, ge=0, le=64)

    @property
    def worker_count(self) -> int:
        """``http_workers``, with 0 resolved to the machine's cores."""
        return self.http_workers or os.cpu_count() or 1

    @property
    def token_audience(self) -> str:
        return self.jwt_audience or self.service_name

    @property
    def group_id(self) -> str:
        return self.consumer_group or self.service_name
