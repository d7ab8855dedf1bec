"""The kit's consumer contract, run against the restructure service's handler table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from lendkit.contracts.ledger import ProductPublished
from lendkit.db import UnitOfWork
from lendkit.events import CloudEvent, EventPayload
from lendkit.migrations import upgrade
from lendkit.runtime import ConsumerSpec
from lendkit.testing import fresh_database
from lendkit.testing.consumer_contract import ConsumerContract, ContractWorld
from restructure.bootstrap import create_runtime
from restructure.entrypoints.consumers import CONSUMERS
from restructure.settings import Settings

POLICY: dict[str, Any] = {"min_dpd": 1, "max_dpd": 180}


class TestRestructureConsumerContract(ConsumerContract):
    def consumer_spec(self) -> ConsumerSpec[Any]:
        return CONSUMERS

    @asynccontextmanager
    async def environment(
        self,
    ) -> AsyncIterator[tuple[Callable[[], UnitOfWork], AIOKafkaProducer]]:
        url = await fresh_database("restructure_consumer_contract")
        await asyncio.to_thread(upgrade, "restructure", url)
        settings = Settings(database_url=url, run_consumers=False, run_outbox_relay=False)
        runtime = create_runtime(settings)
        await runtime.start(background=False)
        try:
            yield runtime.uow, runtime.producer
        finally:
            await runtime.stop()

    def sample(self, key: str, n: int) -> EventPayload:
        """A product (keyed by its code), published again with a new DPD ceiling each time."""
        return ProductPublished(
            code=key,
            currency="CNY",
            annual_rate="0.18",
            day_count="30/360",
            term=12,
            frequency="monthly",
            schedule_type="annuity",
            rounding="half_even",
            allocation_strategy="oldest_first",
            allocation_components=["penalty", "fee", "interest", "principal"],
            reminder_days_before=[3, 1],
            restructure_policy={**POLICY, "max_dpd": 10 + n},
        )

    async def effects(self, world: ContractWorld, event: CloudEvent) -> int | None:
        async with world.uow_factory() as uow:
            count = await uow.session.scalar(
                text("SELECT count(*) FROM products WHERE code = :c"), {"c": event.key}
            )
        return int(count or 0)
