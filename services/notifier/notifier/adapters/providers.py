"""Providers behind one interface: a sandbox that records messages (development, tests) and
an HTTP webhook provider (httpx: timeouts, retries with exponential backoff and jitter, the
attempt id as idempotency key); ``Failover`` tries a channel's providers by priority, each
behind its ``CircuitBreaker`` (an open breaker is skipped without calling its provider).

Logs carry the attempt id and the provider name, never the address."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import httpx

log = logging.getLogger("notifier.providers")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    attempt_id: str
    channel: str
    address: str
    body: str
    purpose: str


@dataclass(frozen=True, slots=True)
class Receipt:
    provider: str
    delivered: bool
    """True when the provider confirms delivery synchronously (the sandbox does)."""


class ProviderError(Exception):
    pass


class Provider(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> Receipt: ...


@dataclass
class SandboxProvider:
    """Records every message it is handed (keyed by attempt id: a resend is not a second one)."""

    name: str = "sandbox"
    fail_times: int = 0
    always_fail: bool = False
    messages: dict[str, OutgoingMessage] = field(default_factory=dict)
    calls: int = 0

    async def send(self, message: OutgoingMessage) -> Receipt:
        self.calls += 1
        if self.always_fail or self.calls <= self.fail_times:
            raise ProviderError(f"{self.name} refused attempt {message.attempt_id}")
        self.messages.setdefault(message.attempt_id, message)
        return Receipt(self.name, delivered=True)


@dataclass
class WebhookProvider:
    """POSTs the message to an integrator's URL with ``Idempotency-Key: <attempt id>``."""

    name: str
    url: str
    timeout_s: float = 5.0
    attempts: int = 3
    backoff_s: float = 0.2
    client: httpx.AsyncClient | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def send(self, message: OutgoingMessage) -> Receipt:
        client = self.client or httpx.AsyncClient(timeout=self.timeout_s)
        try:
            last: Exception | None = None
            for attempt in range(self.attempts):
                try:
                    response = await client.post(
                        self.url,
                        json={
                            "attempt_id": message.attempt_id,
                            "channel": message.channel,
                            "to": message.address,
                            "body": message.body,
                        },
                        headers={"Idempotency-Key": message.attempt_id},
                        timeout=self.timeout_s,
                    )
                    if response.status_code < 500 and response.status_code != 429:
                        if response.is_success:
                            return Receipt(self.name, delivered=False)
                        raise ProviderError(f"{self.name} refused: HTTP {response.status_code}")
                    last = ProviderError(f"{self.name}: HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    last = exc
                log.warning(
                    "provider retry",
                    extra={
                        "provider": self.name,
                        "attempt_id": message.attempt_id,
                        "try": attempt + 1,
                    },
                )
                if attempt + 1 < self.attempts:
                    delay = self.backoff_s * (2**attempt)
                    await self.sleep(delay + random.uniform(0, delay))  # noqa: S311 - jitter
            raise ProviderError(f"{self.name} failed after {self.attempts} tries: {last}")
        finally:
            if self.client is None:
                await client.aclose()


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """One provider's breaker. ``failure_threshold`` consecutive failures open it; while open
    its provider is not called; ``reset_after_s`` later it is half-open: one trial call is let
    through, whose success closes it and whose failure opens it again for another period."""

    failure_threshold: int = 5
    reset_after_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    trial_in_flight: bool = False

    def allows_call(self) -> bool:
        if self.state is BreakerState.OPEN:
            if self.clock() - self.opened_at < self.reset_after_s:
                return False
            self.state = BreakerState.HALF_OPEN
            self.trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN:
            if self.trial_in_flight:
                return False
            self.trial_in_flight = True
        return True

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.trial_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        self.trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()


@dataclass
class Failover:
    """A channel's providers in priority order: the first that accepts wins. Each provider sits
    behind its breaker (``breakers`` by provider name, shared across channels when the same
    mapping is passed; a missing one is created with ``breaker_defaults``)."""

    providers: Sequence[Provider]
    breakers: MutableMapping[str, CircuitBreaker] = field(default_factory=dict)
    breaker_defaults: Callable[[], CircuitBreaker] = CircuitBreaker

    def breaker(self, provider: Provider) -> CircuitBreaker:
        if provider.name not in self.breakers:
            self.breakers[provider.name] = self.breaker_defaults()
        return self.breakers[provider.name]

    async def send(
        self, message: OutgoingMessage, *, skip: frozenset[str] = frozenset()
    ) -> Receipt:
        """The first provider that accepts the message, by priority; the providers in ``skip``
        (they reported this attempt failed) are not tried again."""
        errors: list[str] = []
        for provider in self.providers:
            if provider.name in skip:
                errors.append(f"{provider.name}: failed this attempt before")
                continue
            breaker = self.breaker(provider)
            if not breaker.allows_call():
                errors.append(f"{provider.name}: circuit open")
                log.warning(
                    "provider circuit open, failing over",
                    extra={"provider": provider.name, "attempt_id": message.attempt_id},
                )
                continue
            try:
                receipt = await provider.send(message)
            except (ProviderError, httpx.HTTPError) as exc:
                breaker.record_failure()
                errors.append(f"{provider.name}: {exc}")
                log.warning(
                    "provider failed, failing over",
                    extra={"provider": provider.name, "attempt_id": message.attempt_id},
                )
                continue
            except BaseException:
                breaker.record_failure()  # a half-open trial never stays "in flight"
                raise
            breaker.record_success()
            return receipt
        raise ProviderError("; ".join(errors) or "no provider for the channel")
