"""Wires the notifier service: runtime (database, Kafka consumer, outbox relay, dispatcher) and
the FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import FastAPI

from lendkit.app import create_service_app
from lendkit.logging import get_logger
from lendkit.runtime import ServiceRuntime
from notifier.adapters.providers import (
    CircuitBreaker,
    Failover,
    Provider,
    SandboxProvider,
    WebhookProvider,
)
from notifier.adapters.retention import purge_attempts
from notifier.entrypoints import delivery_api
from notifier.entrypoints.api import router
from notifier.entrypoints.consumers import CONSUMERS
from notifier.service_layer import clock, handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch_until_stopped
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings, WebhookEndpoint

CHANNELS = ("push", "sms", "email")
log = get_logger(__name__)


def providers_for(settings: Settings) -> dict[str, Failover]:
    """Each channel's providers by priority: the webhooks (``webhook_url``, named ``webhook``,
    and ``webhooks``), or the sandbox only when no webhook is configured (a sandbox never
    stands in for a real provider). One circuit breaker per provider, shared by its channels."""
    endpoints = list(settings.webhooks)
    if settings.webhook_url:
        endpoints.insert(0, WebhookEndpoint(name="webhook", url=settings.webhook_url))
    endpoints.sort(key=lambda e: e.priority)
    webhooks = {
        e.name: WebhookProvider(
            e.name,
            e.url,
            timeout_s=settings.webhook_timeout_s,
            attempts=settings.webhook_attempts,
            backoff_s=settings.webhook_backoff_s,
        )
        for e in endpoints
    }
    breakers: dict[str, CircuitBreaker] = {}

    def breaker() -> CircuitBreaker:
        return CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_reset_after_s)

    chains: dict[str, Failover] = {}
    for channel in CHANNELS:
        chain: list[Provider] = [webhooks[e.name] for e in endpoints if channel in e.channels]
        if not endpoints:
            chain.append(SandboxProvider())
        chains[channel] = Failover(chain, breakers=breakers, breaker_defaults=breaker)
    return chains


@dataclass
class NotifierRuntime(ServiceRuntime[NotifierUnitOfWork]):
    providers: dict[str, Failover] = field(default_factory=dict)

    async def start(self, *, background: bool = True) -> None:
        await super().start(background=background)
        settings = self.settings
        if isinstance(settings, Settings):
            handlers.BUSINESS_TIMEZONE = settings.business_timezone
        async with self.uow() as uow:
            await clock.refresh(uow)  # the simulated clock survives restarts
        if background and isinstance(settings, Settings) and settings.run_dispatcher:
            self.spawn(self._dispatch_loop, "dispatcher")
        if background and isinstance(settings, Settings) and settings.run_attempt_retention:
            self.spawn(self._retention_loop, "attempt-retention")

    async def _retention_loop(self) -> None:
        """Purge contact-attempt history past its retention, now and then daily."""
        assert isinstance(self.settings, Settings)
        while not self.stopping.is_set():
            try:
                await purge_attempts(self.engine, self.settings.attempt_retention_days)
            except Exception as exc:  # the next round retries
                log.warning("contact-attempt purge failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.stopping.wait(), timeout=self.settings.attempt_retention_interval_s
                )

    async def _dispatch_loop(self) -> None:
        interval = (
            self.settings.dispatch_interval_ms / 1000 if isinstance(self.settings, Settings) else 1
        )
        await dispatch_until_stopped(
            self.uow, lambda: self.providers, self.now, stopping=self.stopping, interval_s=interval
        )

    async def now(self) -> datetime:
        """The notifier's clock as persisted (the simulator moves it through REST)."""
        async with self.uow() as uow:
            await clock.refresh(uow)
        return CLOCK.now()


def create_runtime(settings: Settings | None = None) -> NotifierRuntime:
    settings = settings or Settings()
    return NotifierRuntime(
        settings, NotifierUnitOfWork, CONSUMERS, providers=providers_for(settings)
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        create_runtime(settings),
        title="Notifier service",
        description="Contacts borrowers: channels, templates, preferences and opt-outs, contact policy, delivery receipts.",
        routers=[router, delivery_api.router],
    )
