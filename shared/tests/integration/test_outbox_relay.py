"""The outbox: events exist exactly when their transaction committed; the relay publishes them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lendkit.db import UnitOfWork, create_engine
from lendkit.events import CloudEvent, new_event
from lendkit.kit_tables import outbox
from lendkit.outbox.relay import OutboxRelay
from lendkit.settings import ServiceSettings
from lendkit.testing import create_topics, eventually, read_events, unique

from .conftest import LoanTouched


def event_on(topic: str, loan_id: str, seq: int) -> CloudEvent:
    e = new_event(LoanTouched(loan_id=loan_id, seq=seq), source="kit-test")
    return CloudEvent(**{**e.__dict__, "topic": topic})


def relay(engine: AsyncEngine, producer: AIOKafkaProducer, db_url: str, **kw: Any) -> OutboxRelay:
    return OutboxRelay(engine, producer, service="kit-test", database_url=db_url, **kw)


async def test_rolled_back_transaction_publishes_nothing_committed_one_is_published(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    topic = unique("kit-outbox")
    await create_topics(topic)
    async with uow_factory() as uow:
        await uow.emit(event_on(topic, "L-rolled-back", 1))
        await uow.rollback()
    async with uow_factory() as uow:
        await uow.emit(event_on(topic, "L-committed", 1))
        await uow.commit()

    published = await relay(engine, producer, db_url).publish_pending()

    assert published == 1
    events = await read_events([topic], count=2, timeout=5)
    assert [e.key for e in events] == ["L-committed"]
    assert events[0].type == "kittest.loan.touched.v1"
    async with engine.connect() as conn:
        unpublished = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    assert unpublished == 0


async def test_leaving_the_unit_of_work_without_commit_rolls_back(
    engine: AsyncEngine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    async with uow_factory() as uow:
        await uow.emit(event_on("kittest.loans", "L-1", 1))
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(outbox)) == 0


class CrashAfterSend(OutboxRelay):
    async def mark_published(self, conn: AsyncConnection, ids: list[int]) -> None:
        raise RuntimeError("relay crashed after sending, before marking")


async def test_relay_crash_after_send_resends_same_event_ids(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    topic = unique("kit-outbox")
    await create_topics(topic)
    async with uow_factory() as uow:
        await uow.emit_all([event_on(topic, "L-9", i) for i in range(3)])
        await uow.commit()

    crashing = CrashAfterSend(engine, producer, service="kit-test", database_url=db_url)
    try:
        await crashing.publish_pending()
    except RuntimeError:
        pass
    else:  # pragma: no cover - the crash is the point of the test
        raise AssertionError("relay should have crashed")
    assert await relay(engine, producer, db_url).publish_pending() == 3

    events = await read_events([topic], count=6, timeout=10)
    ids = [e.id for e in events]
    assert len(ids) == 6, "each event was sent twice: at-least-once"
    assert len(set(ids)) == 3
    assert [LoanTouched.model_validate_json(e.data).seq for e in events] == [0, 1, 2, 0, 1, 2]


async def test_relay_publishes_one_keys_events_in_commit_order_across_batches(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    topic = unique("kit-outbox")
    await create_topics(topic)
    for i in range(40):
        async with uow_factory() as uow:
            await uow.emit(event_on(topic, f"L-{i % 4}", i))
            await uow.commit()
    assert await relay(engine, producer, db_url, batch_size=7).publish_pending() == 40
    events = await read_events([topic], count=40, timeout=10)
    by_key: dict[str | None, list[int]] = {}
    for e in events:
        by_key.setdefault(e.key, []).append(LoanTouched.model_validate_json(e.data).seq)
    assert by_key == {f"L-{k}": list(range(k, 40, 4)) for k in range(4)}


async def test_relay_wakes_on_notify_without_waiting_for_the_poll(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    topic = unique("kit-outbox")
    await create_topics(topic)

    async def listeners() -> int:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
                    )
                )
                or 0
            )

    before = await listeners()
    stop = asyncio.Event()
    task = asyncio.create_task(relay(engine, producer, db_url, poll_interval=30.0).run(stop))

    async def listening() -> bool:
        return await listeners() > before

    await eventually(listening, timeout=10)  # the relay is listening (and then idle)
    await asyncio.sleep(0.2)
    started = time.monotonic()
    async with uow_factory() as uow:
        await uow.emit(event_on(topic, "L-notify", 1))
        await uow.commit()
    events = await read_events([topic], count=1, timeout=10)
    elapsed = time.monotonic() - started
    stop.set()
    await asyncio.wait_for(task, 35)
    assert [e.key for e in events] == ["L-notify"]
    assert elapsed < 10, "published long before the 30 s poll interval"


async def test_topic_namespace_isolates_an_environment_on_a_shared_cluster(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    namespace = unique("ns") + "."
    topic = unique("kit-outbox")
    await create_topics(namespace + topic, topic)
    async with uow_factory() as uow:
        await uow.emit(event_on(topic, "L-ns", 1))
        await uow.commit()
    await relay(engine, producer, db_url, topic_namespace=namespace).publish_pending()
    assert [e.key for e in await read_events([namespace + topic], count=1, timeout=5)] == ["L-ns"]
    assert await read_events([topic], count=1, timeout=2) == []


async def test_relay_listens_again_after_the_database_drops_its_connection(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    topic = unique("kit-outbox")
    await create_topics(topic)
    listener_pids = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND query ILIKE 'LISTEN%'"
    )

    async def pids() -> set[int]:
        async with engine.connect() as conn:
            return set(await conn.scalars(listener_pids))

    before = await pids()
    stop = asyncio.Event()
    task = asyncio.create_task(relay(engine, producer, db_url, poll_interval=60.0).run(stop))
    try:
        await eventually(lambda: _more(pids, before), timeout=10)
        first = await pids() - before
        # a restart or failover as the relay sees it: the server ends its LISTEN session
        async with engine.connect() as conn:
            for pid in first:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await eventually(lambda: _more(pids, before | first), timeout=10)

        started = time.monotonic()
        async with uow_factory() as uow:
            await uow.emit(event_on(topic, "L-after-restart", 1))
            await uow.commit()
        events = await read_events([topic], count=1, timeout=15)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        await asyncio.wait_for(task, 65)
    assert [e.key for e in events] == ["L-after-restart"]
    assert elapsed < 15, "woken by NOTIFY again, not by the 60 s poll"


async def test_relay_publishes_again_after_the_server_ended_its_pooled_connection(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    """A failover, ``pg_terminate_backend`` or ``DROP DATABASE ... WITH (FORCE)`` ends the
    pool's sessions. The relay claims rows on the asyncpg connection itself, whose errors
    SQLAlchemy never sees: the dead connection went back to the pool, and the relay failed
    on it ("connection is closed") until the service was restarted."""
    topic = unique("kit-outbox")
    await create_topics(topic)
    app = unique("kit-relay-pool")
    pooled = create_engine(
        ServiceSettings(service_name=app, database_url=db_url, db_pool_size=1, db_max_overflow=0)
    )
    sessions = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app")
    try:
        the_relay = relay(pooled, producer, db_url)
        assert await the_relay.publish_pending() == 0  # its one pooled connection is open
        async with engine.connect() as conn:
            assert await conn.scalar(sessions, {"app": app}) == 1
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :app"
                ),
                {"app": app},
            )

        async def ended() -> bool:
            async with engine.connect() as conn:
                return await conn.scalar(sessions, {"app": app}) == 0

        await eventually(ended, timeout=10)
        await asyncio.sleep(0.2)  # the client side hears the socket close
        async with uow_factory() as uow:
            await uow.emit(event_on(topic, "L-after-failover", 1))
            await uow.commit()
        failures: list[str] = []
        published = 0
        for _ in range(5):  # the relay's loop: one wake-up after another
            try:
                published = await the_relay.publish_pending()
                break
            except Exception as exc:
                failures.append(repr(exc))
        assert published == 1, failures
        assert not failures, "a connection the server had ended was handed out again"
    finally:
        await pooled.dispose()
    assert [e.key for e in await read_events([topic], count=1, timeout=10)] == ["L-after-failover"]


async def _more(pids: Callable[[], Any], known: set[int]) -> bool:
    return bool(await pids() - known)


async def test_relay_puts_each_key_on_the_partition_producer_send_would_choose(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    db_url: str,
) -> None:
    """The relay partitions rows itself (one record batch per partition) through public
    aiokafka API only; a key must land where ``producer.send`` puts it, or a loan's events
    written by the relay and by a plain producer would split across partitions."""
    topic = unique("kit-outbox-partitions")
    await create_topics(topic, partitions=6)
    keys = [f"L-part-{i}" for i in range(24)]
    async with uow_factory() as uow:
        await uow.emit_all([event_on(topic, key, 1) for key in keys])
        await uow.commit()

    assert await relay(engine, producer, db_url).publish_pending() == len(keys)

    events = await read_events([topic], count=len(keys), timeout=10)
    by_key = {e.key: e.partition for e in events}
    for key in keys:
        sent = await (await producer.send(topic, value=b"{}", key=key.encode()))
        assert by_key[key] == sent.partition, key
    assert len(set(by_key.values())) > 1, "24 keys over 6 partitions use more than one"
