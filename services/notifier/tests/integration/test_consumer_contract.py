"""The kit's consumer contract, run against the notifier's handler table: duplicate
delivery, unknown type and version, every kind of poison on every topic it reads, per-key
order."""

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
from notifier.bootstrap import create_runtime
from notifier.entrypoints.consumers import CONSUMERS
from notifier.settings import Settings

POLICY: dict[str, Any] = {
    "arrears_grace_days": 3,
    "penalty_grace_days": 0,
    "penalty_daily_rate": "0.0005",
    "penalty_base": "overdue_principal",
    "credit_report_notice_dpd": 30,
}


class TestNotifierConsumerContract(ConsumerContract):
    def consumer_spec(self) -> ConsumerSpec[Any]:
        return CONSUMERS

    @asynccontextmanager
    async def environment(
        self,
    ) -> AsyncIterator[tuple[Callable[[], UnitOfWork], AIOKafkaProducer]]:
        url = await fresh_database("notifier_consumer_contract")
        await asyncio.to_thread(upgrade, "notifier", url)
        settings = Settings(
            database_url=url, run_consumers=False, run_outbox_relay=False, run_dispatcher=False
        )
        runtime = create_runtime(settings)
        await runtime.start(background=False)
        try:
            yield runtime.uow, runtime.producer
        finally:
            await runtime.stop()

    def sample(self, key: str, n: int) -> EventPayload:
        """A product (keyed by its code), published again with a later notice each time."""
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
            overdue_policy={**POLICY, "credit_report_notice_dpd": 30 + n},
        )

    async def effects(self, world: ContractWorld, event: CloudEvent) -> int | None:
        async with world.uow_factory() as uow:
            count = await uow.session.scalar(
                text("SELECT count(*) FROM products WHERE product_code = :c"), {"c": event.key}
            )
        return int(count or 0)
