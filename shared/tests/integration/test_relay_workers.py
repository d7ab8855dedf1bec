"""Several workers of one service (``http_workers``): each runs an outbox relay on the same
database, and every event is still published once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lendkit.db import UnitOfWork
from lendkit.events import CloudEvent, new_event
from lendkit.kit_tables import outbox
from lendkit.outbox.relay import OutboxRelay
from lendkit.testing import KAFKA, create_topics, eventually, read_events, unique

from .conftest import LoanTouched


class CountingRelay(OutboxRelay):
    """A worker's relay that remembers the rows it sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[int] = []

    async def send(self, rows: Sequence[Mapping[str, Any]]) -> None:
        await asyncio.sleep(0.005)  # a broker round trip: the other worker runs meanwhile
        await super().send(rows)
        self.sent.extend(row["id"] for row in rows)


async def test_two_workers_relays_publish_each_event_once(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    topic = unique("kit-workers")
    await create_topics(topic)
    # each worker process has its own engine (connection pool) and producer
    engines = [create_async_engine(db_url) for _ in range(2)]
    producers = [
        AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, acks="all"),
        producer,
    ]
    await producers[0].start()
    relays = [
        CountingRelay(
            e, p, service="kit-test", database_url=db_url, batch_size=7, poll_interval=0.02
        )
        for e, p in zip(engines, producers, strict=True)
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(r.run(stop)) for r in relays]
    try:
        for n in range(30):  # commits while both relays run
            async with uow_factory() as uow:
                events = [
                    new_event(LoanTouched(loan_id=f"L-{n}", seq=s), source="kit-test")
                    for s in range(5)
                ]
                await uow.emit_all([CloudEvent(**{**e.__dict__, "topic": topic}) for e in events])
                await uow.commit()
            await asyncio.sleep(0.01)

        async def all_published() -> bool:
            async with engine.connect() as conn:
                left = await conn.scalar(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                )
            return left == 0

        await eventually(all_published, timeout=30)
    finally:
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
        await producers[0].stop()
        for e in engines:
            await e.dispose()

    sent = relays[0].sent + relays[1].sent
    assert sorted(sent) == sorted(set(sent))  # no row sent by both
    assert len(sent) == 150
    received = await read_events([topic], count=151, timeout=5)  # one more would be a double
    assert len(received) == 150
    assert len({e.id for e in received}) == 150
