"""Wires the notifier service: runtime (database, Kafka consumer, outbox relay, dispatcher) and
the FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from fastapi import FastAPI

from lendkit.app import create_service_app
from lendkit.runtime import ServiceRuntime
from notifier.adapters.providers import Failover, Provider, SandboxProvider, WebhookProvider
from notifier.entrypoints.api import router
from notifier.entrypoints.consumers import CONSUMERS
from notifier.service_layer import clock, handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.dispatch import dispatch
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings

CHANNELS = ("push", "sms", "email")


def providers_for(settings: Settings) -> dict[str, Failover]:
    """Each channel's providers by priority: the webhook (when configured), then the sandbox
    only when no webhook is configured (a sandbox never stands in for a real provider)."""
    chain: list[Provider] = []
    if settings.webhook_url:
        chain.append(
            WebhookProvider(
                "webhook",
                settings.webhook_url,
                timeout_s=settings.webhook_timeout_s,
                attempts=settings.webhook_attempts,
            )
        )
    else:
        chain.append(SandboxProvider())
    return {channel: Failover(chain) for channel in CHANNELS}


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

    async def _dispatch_loop(self) -> None:
        interval = (
            self.settings.dispatch_interval_ms / 1000 if isinstance(self.settings, Settings) else 1
        )
        while not self.stopping.is_set():
            async with self.uow() as uow:
                await clock.refresh(uow)
            await dispatch(self.uow, self.providers, CLOCK.now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=interval)


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
        routers=[router],
    )
