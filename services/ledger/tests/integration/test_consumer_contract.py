"""The kit's consumer contract, run against the ledger's handler table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any, ClassVar

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from ledger.bootstrap import create_app
from ledger.entrypoints.consumers import CONSUMERS
from ledger.settings import Settings
from lendkit.auth import Role
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.db import UnitOfWork
from lendkit.events import CloudEvent, EventPayload
from lendkit.migrations import upgrade
from lendkit.runtime import ConsumerSpec, ServiceRuntime
from lendkit.testing import fresh_database, unique
from lendkit.testing.consumer_contract import ConsumerContract, ContractWorld


class TestLedgerConsumerContract(ConsumerContract):
    api: ClassVar[httpx.AsyncClient]
    runtime: ClassVar[ServiceRuntime[Any]]
    product: ClassVar[str]

    def consumer_spec(self) -> ConsumerSpec[Any]:
        return CONSUMERS

    @asynccontextmanager
    async def environment(
        self,
    ) -> AsyncIterator[tuple[Callable[[], UnitOfWork], AIOKafkaProducer]]:
        url = await fresh_database("ledger_consumer_contract")
        await asyncio.to_thread(upgrade, "ledger", url)
        settings = Settings(
            database_url=url,
            consumer_group=unique("ledger-contract"),
            run_consumers=False,
            run_outbox_relay=False,
            simulated_clock=True,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as api:
                cls = type(self)
                cls.api, cls.runtime = api, app.state.runtime
                cls.product = await self._post(
                    "/products",
                    Role.ADMIN,
                    {
                        "code": unique("P"),
                        "currency": "CNY",
                        "annual_rate": "0.12",
                        "term": 3,
                        "schedule_type": "EQUAL_PRINCIPAL",
                    },
                    "code",
                )
                yield cls.runtime.uow, cls.runtime.producer

    async def _post(self, path: str, role: Role, body: dict[str, Any], field: str) -> str:
        token = self.runtime.tokens.issue(f"{role}-user", [role])
        r = await self.api.post(
            path,
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": unique("k")},
        )
        assert r.status_code == 201, r.text
        return str(body[field])

    async def new_key(self, world: ContractWorld) -> str:
        """A loan (penalties are booked on a loan's instalment)."""
        body = {
            "loan_id": unique("L"),
            "borrower_id": unique("B"),
            "product_code": self.product,
            "principal_minor": 300_000,
            "disbursed_on": date(2026, 1, 10).isoformat(),
        }
        return await self._post("/loans", Role.OPS, body, "loan_id")

    def sample(self, key: str, n: int) -> EventPayload:
        """The overdue service's penalty on instalment 1, one business day after another."""
        return PenaltyAssessed(
            loan_id=key,
            seq=1,
            business_date=date(2026, 2, 14) + timedelta(days=n),
            base_minor=100_000,
            daily_rate="0.0005",
            amount_minor=50,
            currency="CNY",
        )

    async def effects(self, world: ContractWorld, event: CloudEvent) -> int | None:
        async with world.uow_factory() as uow:
            count = await uow.session.scalar(
                text("SELECT count(*) FROM charges WHERE source_event_id = :id"), {"id": event.id}
            )
        return int(count or 0)
