"""Every service app gets health, readiness, metrics, request ids and problem+json from the kit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lendkit.app import create_service_app
from lendkit.auth import Role
from lendkit.db import UnitOfWork
from lendkit.runtime import ServiceRuntime
from lendkit.settings import ServiceSettings
from lendkit.testing import KAFKA, database_url


async def started(settings: ServiceSettings) -> tuple[FastAPI, ServiceRuntime[UnitOfWork]]:
    runtime = ServiceRuntime(settings, UnitOfWork)
    app = create_service_app(runtime, title="kit test", description="kit test", routers=[])
    return app, runtime


@pytest.fixture
async def client(
    kit_db: object,
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime[UnitOfWork]]]:
    settings = ServiceSettings(
        service_name="kit-app",
        database_url=database_url("kit_test"),
        kafka_bootstrap_servers=KAFKA,
        run_consumers=False,
    )
    app, runtime = await started(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit") as c:
            yield c, runtime


async def test_health_needs_no_token_and_readiness_checks_database_and_kafka(
    client: tuple[httpx.AsyncClient, ServiceRuntime[UnitOfWork]],
) -> None:
    c, _ = client
    assert (await c.get("/healthz")).json() == {"status": "ok"}
    ready = await c.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "kafka": "ok"}


async def test_metrics_need_an_ops_token_and_expose_the_platform_gauges(
    client: tuple[httpx.AsyncClient, ServiceRuntime[UnitOfWork]],
) -> None:
    c, runtime = client
    assert (await c.get("/metrics")).status_code == 401
    borrower = runtime.tokens.issue("B-1", [Role.BORROWER])
    assert (
        await c.get("/metrics", headers={"Authorization": f"Bearer {borrower}"})
    ).status_code == 403
    token = runtime.tokens.issue("prometheus", [Role.SERVICE])
    await c.get("/healthz")
    body = (await c.get("/metrics", headers={"Authorization": f"Bearer {token}"})).text
    for name in ("http_requests_total", "outbox_backlog", "consumer_lag", "dead_letters_total"):
        assert name in body
    assert 'route="/healthz"' in body


async def test_request_id_is_echoed_or_made(
    client: tuple[httpx.AsyncClient, ServiceRuntime[UnitOfWork]],
) -> None:
    c, _ = client
    assert (await c.get("/healthz", headers={"X-Request-ID": "req-42"})).headers[
        "x-request-id"
    ] == "req-42"
    assert len((await c.get("/healthz")).headers["x-request-id"]) == 32


async def test_readiness_is_503_when_the_database_is_unreachable() -> None:
    settings = ServiceSettings(
        service_name="kit-app-down",
        database_url="postgresql+asyncpg://postgres:platform@127.0.0.1:1/nowhere",
        kafka_bootstrap_servers=KAFKA,
        run_consumers=False,
        run_outbox_relay=False,
    )
    app, _ = await started(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit") as c,
    ):
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "down", "kafka": "ok"}


async def test_the_read_pool_sends_one_statement_a_read_and_still_ends_an_open_transaction(
    client: tuple[httpx.AsyncClient, ServiceRuntime[UnitOfWork]],
) -> None:
    _, runtime = client
    pool = await runtime.reads()
    sent: list[str] = []

    def log(logged: Any) -> None:
        sent.append(logged.query)

    async with pool.acquire() as connection:
        connection.add_query_logger(log)
        assert await connection.fetchval("SELECT 41 + 1") == 42
    # (released: asyncpg's reset, if any, runs now and is logged too)
    async with pool.acquire() as again:
        again.remove_query_logger(log)
    # No reset query (``RESET ALL; UNLISTEN *; ...``) on release: a second round trip a read.
    assert sent == ["SELECT 41 + 1"]

    # A read left inside a transaction is still rolled back when it goes back to the pool.
    async with pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.execute("SET LOCAL statement_timeout = '1234ms'")
    async with pool.acquire() as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SHOW statement_timeout") != "1234ms"
