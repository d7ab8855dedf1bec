"""The kit's bookkeeping is pruned after its retention, and exactly-once still holds for
every copy of an event that arrives within it."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.db import UnitOfWork
from lendkit.events import new_event
from lendkit.kit_tables import idempotency_keys, processed_events
from lendkit.retention import prune_kit_tables
from lendkit.testing import create_topics, unique

from .conftest import LoanTouched
from .test_idempotent_consumer import consumer_for, drain, effect_rows, send


async def test_processed_events_and_idempotency_keys_are_pruned_after_their_retention(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
) -> None:
    topic, group = unique("kit-retention"), unique("kit-retention-group")
    await create_topics(topic)
    recent = new_event(LoanTouched(loan_id="L-recent", seq=1), source="kit-test")
    await send(producer, topic, recent)
    consumer = consumer_for(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        await drain(consumer, engine, 1)
    finally:
        await consumer.stop()
    async with engine.begin() as conn:
        await conn.execute(
            insert(processed_events).values(
                consumer_group=group,
                event_id="old-event",
                event_type="kittest.loan.touched.v1",
                processed_at=text("now() - interval '31 days'"),
            )
        )
        for key, age in (("old-key", "8 days"), ("recent-key", "1 hour")):
            await conn.execute(
                insert(idempotency_keys).values(
                    scope="kit-test",
                    key=key,
                    request_hash="h",
                    created_at=text(f"now() - interval '{age}'"),
                )
            )

    pruned = await prune_kit_tables(
        engine, processed_events_days=30, idempotency_keys_hours=168, chunk=1
    )

    assert (pruned.processed_events, pruned.idempotency_keys) == (1, 1)
    async with engine.connect() as conn:
        assert list(await conn.scalars(select(processed_events.c.event_id))) == [recent.id]
        assert list(await conn.scalars(select(idempotency_keys.c.key))) == ["recent-key"]
    # a redelivery within the retention is still absorbed
    await send(producer, topic, recent)
    again = consumer_for(topic, group, uow_factory, producer)
    await again.start()
    try:
        seen = 0
        for _ in range(40):
            seen += await again.poll_once(timeout_ms=250)
            if seen:
                break
    finally:
        await again.stop()
    assert seen == 1, "the copy was delivered"
    assert await effect_rows(engine) == [("L-recent", 1)]
