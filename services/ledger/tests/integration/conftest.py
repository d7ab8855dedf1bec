"""Fixtures for the ledger's integration tests: a fresh database migrated to head, the app
running inside its lifespan (outbox relay and consumers against the real Kafka)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest

from ledger.bootstrap import create_app
from ledger.entrypoints.consumers import CONSUMERS
from ledger.settings import Settings
from lendkit.auth import Role
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.events import CloudEvent, new_event
from lendkit.migrations import upgrade
from lendkit.runtime import ServiceRuntime
from lendkit.testing import KAFKA, create_topics, fresh_database, start_group_at_end, unique
from lendkit.topic_admin import ensure_topics


class Ledger:
    """The running app and what tests need to drive it."""

    def __init__(self, client: httpx.AsyncClient, runtime: ServiceRuntime[Any]) -> None:
        self.client = client
        self.runtime = runtime

    def token(self, role: Role, subject: str = "tester", borrower_id: str | None = None) -> str:
        return self.runtime.tokens.issue(subject, [role], borrower_id=borrower_id)

    def auth(self, role: Role = Role.OPS, borrower_id: str | None = None) -> dict[str, str]:
        subject = borrower_id or f"{role}-user"
        return {"Authorization": f"Bearer {self.token(role, subject, borrower_id)}"}

    async def product(self, **overrides: Any) -> str:
        body = {
            "code": unique("P"),
            "currency": "CNY",
            "annual_rate": "0.12",
            "term": 3,
            "schedule_type": "EQUAL_PRINCIPAL",
            **overrides,
        }
        r = await self.client.post(
            "/products",
            json=body,
            headers={**self.auth(Role.ADMIN), "Idempotency-Key": unique("k")},
        )
        assert r.status_code == 201, r.text
        return str(body["code"])

    async def loan(
        self,
        product: str,
        *,
        principal: int = 300_000,
        disbursed_on: date = date(2026, 1, 10),
        borrower_id: str | None = None,
    ) -> str:
        loan_id = unique("L")
        body = {
            "loan_id": loan_id,
            "borrower_id": borrower_id or unique("B"),
            "product_code": product,
            "principal_minor": principal,
            "disbursed_on": disbursed_on.isoformat(),
        }
        r = await self.client.post(
            "/loans", json=body, headers={**self.auth(), "Idempotency-Key": unique("k")}
        )
        assert r.status_code == 201, r.text
        return loan_id

    async def pay(
        self, loan_id: str, amount: int, value_date: date, reference: str | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/loans/{loan_id}/payments",
            json={
                "external_reference": reference or unique("ref"),
                "amount_minor": amount,
                "value_date": value_date.isoformat(),
            },
            headers={**self.auth(Role.SERVICE), "Idempotency-Key": unique("k")},
        )

    async def close_day(self, day: str) -> dict[str, Any]:
        """Close business day ``day`` (ISO date) as ops; the close-of-business answer."""
        r = await self.client.post(
            "/close-of-business",
            json={"business_date": day},
            headers={**self.auth(), "Idempotency-Key": unique("cob")},
        )
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    async def publish(self, event: CloudEvent) -> None:
        """Put an event on Kafka as another service would (CloudEvents binary mode)."""
        await self.runtime.producer.send_and_wait(
            event.topic, value=event.data, key=event.key_bytes(), headers=event.headers()
        )


def penalty_assessed(loan_id: str, seq: int, on: date, amount: int) -> CloudEvent:
    """The overdue service's ``overdue.penalty.assessed.v1`` for one day (base 1,000.00 at
    0.05 %; only ``amount`` is booked)."""
    payload = PenaltyAssessed(
        loan_id=loan_id,
        seq=seq,
        business_date=on,
        base_minor=100_000,
        daily_rate="0.0005",
        amount_minor=amount,
        currency="CNY",
    )
    return new_event(payload, source="overdue")


@pytest.fixture(scope="session")
async def database_url() -> str:
    url = await fresh_database("ledger_test")
    await asyncio.to_thread(upgrade, "ledger", url)
    await ensure_topics(KAFKA)
    return url


@asynccontextmanager
async def running_ledger(database_url: str, **overrides: Any) -> AsyncIterator[Ledger]:
    """The ledger on a simulated business clock (tests close days of any year) unless
    ``overrides`` say otherwise."""
    group = unique("ledger-test")
    await create_topics(f"{group}.dlt", partitions=1)
    await start_group_at_end(group, CONSUMERS.topics)
    settings = Settings(
        database_url=database_url,
        consumer_group=group,
        outbox_poll_interval_ms=100,
        db_pool_size=20,
        db_max_overflow=40,
        **{"simulated_clock": True, **overrides},
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
            yield Ledger(client, app.state.runtime)


@pytest.fixture(scope="session")
async def ledger(database_url: str) -> AsyncIterator[Ledger]:
    async with running_ledger(database_url) as running:
        yield running


@pytest.fixture(scope="module")
async def clock_ledger(request: pytest.FixtureRequest) -> AsyncIterator[Ledger]:
    """A ledger on a database of its own, for a module that closes business days: the
    business clock never goes back, so modules closing days of different years cannot
    share one. Such a module overrides ``ledger`` with this."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    url = await fresh_database(f"ledger_clock_{module}")
    await asyncio.to_thread(upgrade, "ledger", url)
    async with running_ledger(url) as running:
        yield running
