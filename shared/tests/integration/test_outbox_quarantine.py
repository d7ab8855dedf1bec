"""One bad outbox row does not stop publishing: refused at write time when it can be, else
quarantined by the relay, holding only its own key's later rows; ops retry or discard it."""

from __future__ import annotations

import json
from collections.abc import Callable

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.db import UnitOfWork, asyncpg_dsn
from lendkit.events import CloudEvent
from lendkit.kit_tables import outbox, outbox_quarantine
from lendkit.outbox import quarantine
from lendkit.outbox.writer import MAX_EVENT_BYTES, OversizedEvent
from lendkit.testing import create_topics, read_events, unique

from .conftest import LoanTouched
from .test_outbox_relay import event_on, relay


def seqs(events: list[CloudEvent], key: str) -> list[int]:
    return [LoanTouched.model_validate_json(e.data).seq for e in events if e.key == key]


async def test_an_event_too_large_for_the_broker_is_refused_when_written(
    engine: AsyncEngine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    event = event_on("kittest.loans", "L-huge", 1)
    huge = CloudEvent(**{**event.__dict__, "data": b'{"pad": "' + b"x" * MAX_EVENT_BYTES + b'"}'})
    async with uow_factory() as uow:
        with pytest.raises(OversizedEvent, match="over the 1000000-byte limit"):
            await uow.emit(huge)
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(outbox)) == 0


async def test_a_row_the_broker_refuses_is_quarantined_and_only_its_keys_later_rows_wait(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    topic = unique("kit-quarantine")
    await create_topics(topic)
    async with uow_factory() as uow:
        await uow.emit(event_on(topic, "L-before", 1))
        await uow.commit()
    # A row over the broker's limit, as set-based SQL (not size-checked) could write it.
    big = event_on(topic, "L-big", 1)
    async with engine.begin() as conn:
        await conn.execute(
            insert(outbox).values(
                event_id=big.id,
                topic=topic,
                message_key="L-big",
                event_type=big.type,
                headers=[[k, v.decode()] for k, v in big.headers()],
                payload=json.dumps({"loan_id": "L-big", "seq": 1, "pad": "x" * 1_500_000}).encode(),
            )
        )
    async with uow_factory() as uow:
        await uow.emit_all(
            [
                event_on(topic, "L-big", 2),
                event_on(topic, "L-after", 1),
                event_on(topic, "L-big", 3),
            ]
        )
        await uow.commit()
    before = REGISTRY.get_sample_value("outbox_quarantined_total", {"service": "kit-test"}) or 0.0

    await relay(engine, producer, db_url).publish_pending()

    published = await read_events([topic], count=3, timeout=10)
    assert sorted(e.key or "" for e in published) == ["L-after", "L-before"]
    async with engine.connect() as conn:
        held = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        reasons = list(await conn.scalars(select(outbox_quarantine.c.reason)))
    assert held == 2, "L-big's later rows wait behind the quarantined one"
    assert len(reasons) == 1 and "MessageSizeTooLarge" in reasons[0]
    after = REGISTRY.get_sample_value("outbox_quarantined_total", {"service": "kit-test"})
    assert after == before + 1

    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        [row] = await quarantine.list_quarantined(conn)
        assert (row["message_key"], row["held"]) == ("L-big", 2)
        # retried: still too large, so back in quarantine, and the key still held
        assert await quarantine.retry(conn, [row["id"]]) == [row["id"]]
        await relay(engine, producer, db_url).publish_pending()
        assert [r["id"] for r in await quarantine.list_quarantined(conn)] == [row["id"]]
        # discarded (compensated some other way): the held rows are published, in order
        assert await quarantine.discard(conn, [row["id"]]) == [row["id"]]
    finally:
        await conn.close()
    await relay(engine, producer, db_url).publish_pending()
    published = await read_events([topic], count=4, timeout=10)
    assert seqs(published, "L-big") == [2, 3]
