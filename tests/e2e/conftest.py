"""Several services in one process, over the real Kafka and PostgreSQL.

Each test session gets its own topic namespace and fresh databases, so nothing another
test published can reach these services, and each service runs its real consumer loop
and outbox relay.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.runtime import ServiceRuntime
from lendkit.testing import create_platform_topics, drop_database, fresh_database, unique


@dataclass
class RunningService:
    name: str
    app: FastAPI
    runtime: ServiceRuntime[Any]
    client: httpx.AsyncClient

    def auth(
        self, roles: list[Role], subject: str = "e2e", borrower_id: str | None = None
    ) -> dict[str, str]:
        token = self.runtime.tokens.issue(subject, roles, borrower_id=borrower_id)
        return {"Authorization": f"Bearer {token}"}

    @property
    def ops(self) -> dict[str, str]:
        return self.auth([Role.OPS, Role.ADMIN])


@dataclass
class Platform:
    namespace: str
    services: dict[str, RunningService] = field(default_factory=dict)

    def __getitem__(self, name: str) -> RunningService:
        return self.services[name]


async def start_service(
    stack: AsyncExitStack, name: str, namespace: str, **overrides: Any
) -> RunningService:
    # Each platform's databases are its own: a module's platform started while the session's
    # is alive dropped the session's databases (WITH FORCE) and then shared them, and the
    # session's relays published the module's events to the session's topics.
    database = f"{name}_{namespace.rstrip('.').replace('-', '_')}"
    url = await fresh_database(database)
    stack.push_async_callback(drop_database, database)  # after the service has stopped
    await asyncio.to_thread(upgrade, name, url)
    settings_cls = importlib.import_module(f"{name}.settings").Settings
    bootstrap = importlib.import_module(f"{name}.bootstrap")
    settings = settings_cls(
        database_url=url,
        topic_namespace=namespace,
        outbox_poll_interval_ms=200,
        consumer_retry_backoff_ms=20,
        **overrides,
    )
    app: FastAPI = bootstrap.create_app(settings)
    await stack.enter_async_context(app.router.lifespan_context(app))
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
    )
    return RunningService(name, app, app.state.runtime, client)


@asynccontextmanager
async def own_platform(**ledger_settings: Any) -> AsyncIterator[Platform]:
    """The four services on fresh databases and a topic namespace of their own (so their
    consumer groups are their own too); ``ledger_settings`` override the ledger's settings
    (``simulated_clock=True``: any day may be closed, today is the day after the last)."""
    namespace = unique("e2e") + "."
    await create_platform_topics(namespace)
    async with AsyncExitStack() as stack:
        running = Platform(namespace)
        for name in ("ledger", "overdue", "notifier", "restructure"):
            overrides = ledger_settings if name == "ledger" else {}
            running.services[name] = await start_service(stack, name, namespace, **overrides)
        yield running


@pytest.fixture(scope="session")
async def platform() -> AsyncIterator[Platform]:
    """The session's platform, on the real business clock: the files that use it close
    fixed days in the past."""
    async with own_platform() as running:
        yield running


async def open_loan(ledger: RunningService, product: dict[str, Any], loan: dict[str, Any]) -> Any:
    """Publish ``product`` and disburse ``loan`` on the ledger (as ops); the new loan's JSON."""
    for path, body in (("/products", product), ("/loans", loan)):
        r = await ledger.client.post(
            path, json=body, headers={**ledger.ops, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 201, r.text
    return r.json()


async def close_business_days(ledger: RunningService, first: date, last: date) -> None:
    """Close every business day from ``first`` to ``last`` on the ledger, in order."""
    day = first
    while day <= last:
        r = await ledger.client.post(
            "/close-of-business",
            json={"business_date": day.isoformat()},
            headers={**ledger.ops, "Idempotency-Key": f"cob-{day}"},
        )
        assert r.status_code == 200, r.text
        day += timedelta(days=1)
