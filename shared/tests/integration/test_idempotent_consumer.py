"""The idempotent consumer: duplicates have one effect, poison goes to the dead-letter topic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.consumer import IdempotentConsumer, RejectedEvent, RetryPolicy
from lendkit.db import UnitOfWork
from lendkit.dead_letters import H_ATTEMPTS, H_REASON, H_TOPIC, header_value, replay
from lendkit.events import CloudEvent, new_event
from lendkit.testing import KAFKA, create_topics, eventually, unique

from .conftest import LoanTouched, effects

FAILURES: dict[int, int] = {}


async def record_effect(uow: UnitOfWork, event: CloudEvent) -> None:
    payload = event.payload(LoanTouched)
    if payload.seq < 0:
        raise RejectedEvent(f"negative sequence {payload.seq} can never be applied")
    if FAILURES.get(payload.seq, 0) > 0:
        FAILURES[payload.seq] -= 1
        raise RuntimeError(f"flaky handler for seq {payload.seq}")
    await uow.session.execute(
        insert(effects).values(event_id=event.id, loan_id=payload.loan_id, seq=payload.seq)
    )


async def effect_rows(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(effects.c.loan_id, effects.c.seq).order_by(effects.c.id))
        return [(r.loan_id, r.seq) for r in rows]


def consumer_for(
    topic: str,
    group: str,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    attempts: int = 3,
) -> IdempotentConsumer[UnitOfWork]:
    return IdempotentConsumer(
        bootstrap_servers=KAFKA,
        group=group,
        topics=[topic],
        handlers={"kittest.loan.touched.v1": record_effect},
        uow_factory=uow_factory,
        producer=producer,
        batch_size=50,
        retry=RetryPolicy(max_attempts=attempts, backoff_ms=10, backoff_max_ms=50),
    )


async def send(producer: AIOKafkaProducer, topic: str, event: CloudEvent) -> None:
    await (
        await producer.send(topic, value=event.data, key=event.key_bytes(), headers=event.headers())
    )


async def drain(
    consumer: IdempotentConsumer[UnitOfWork], engine: AsyncEngine, expected: int
) -> None:
    async def done() -> bool:
        await consumer.poll_once(timeout_ms=200)
        return len(await effect_rows(engine)) >= expected

    await eventually(done, timeout=30)


@pytest.fixture
async def topic_and_group() -> tuple[str, str]:
    topic, group = unique("kit-in"), unique("kit-group")
    await create_topics(topic)
    await create_topics(group + ".dlt", partitions=1)
    return topic, group


async def test_same_event_delivered_twice_has_one_effect(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    event = new_event(LoanTouched(loan_id="L-dup", seq=1), source="kit-test")
    await send(producer, topic, event)
    await send(producer, topic, event)
    await send(producer, topic, new_event(LoanTouched(loan_id="L-dup", seq=2), source="kit-test"))
    consumer = consumer_for(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        await drain(consumer, engine, 2)
        for _ in range(3):
            await consumer.poll_once(timeout_ms=200)
    finally:
        await consumer.stop()
    assert await effect_rows(engine) == [("L-dup", 1), ("L-dup", 2)]


async def test_crash_between_database_commit_and_offset_commit_has_no_second_effect(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    await send(producer, topic, new_event(LoanTouched(loan_id="L-crash", seq=7), source="kit-test"))

    # First process: applies the effect (database commit) and dies before committing offsets.
    first = AIOKafkaConsumer(
        topic,
        bootstrap_servers=KAFKA,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await first.start()
    crashed = consumer_for(topic, group, uow_factory, producer)
    records = []
    while not records:
        batch = await first.getmany(timeout_ms=500)
        records = [r for rs in batch.values() for r in rs]
    for record in records:
        await crashed.handle_record(record)
    await first.stop()  # no offset commit: the crash
    assert await effect_rows(engine) == [("L-crash", 7)]

    # The restarted consumer gets the same record again and absorbs it.
    second = consumer_for(topic, group, uow_factory, producer)
    await second.start()
    try:
        seen = 0
        while seen == 0:
            seen = await second.poll_once(timeout_ms=500)
    finally:
        await second.stop()
    assert seen == 1, "the record was redelivered"
    assert await effect_rows(engine) == [("L-crash", 7)]


async def read_dead_letters(
    topic: str, count: int
) -> list[tuple[bytes | None, list[tuple[str, bytes]]]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, group_id=unique("dlt-reader"), auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[tuple[bytes | None, list[tuple[str, bytes]]]] = []
    try:
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=300)
            out += [(r.value, list(r.headers)) for rs in batch.values() for r in rs]
            if len(out) >= count:
                break
    finally:
        await consumer.stop()
    return out


async def test_malformed_message_goes_to_dead_letter_topic_and_next_is_processed(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    key = b"L-poison"
    await (await producer.send(topic, value=b"not json at all", key=key, headers=[("x", b"1")]))
    # each poison event on a loan of its own: a dead letter parks its loan's later events
    bad_payload = new_event(LoanTouched(loan_id="L-poison-1", seq=1), source="kit-test")
    bad_payload = CloudEvent(**{**bad_payload.__dict__, "data": b'{"loan_id": "L-poison-1"}'})
    await send(producer, topic, bad_payload)
    await send(
        producer, topic, new_event(LoanTouched(loan_id="L-poison-2", seq=-1), source="kit-test")
    )
    await send(producer, topic, new_event(LoanTouched(loan_id="L-good", seq=2), source="kit-test"))

    consumer = consumer_for(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        await drain(consumer, engine, 1)
    finally:
        await consumer.stop()

    assert await effect_rows(engine) == [("L-good", 2)]
    parked = await read_dead_letters(group + ".dlt", 3)
    reasons = [header_value(h, H_REASON) or "" for _, h in parked]
    assert len(parked) == 3
    assert "missing CloudEvents headers" in reasons[0]
    assert "payload invalid" in reasons[1] and "seq" in reasons[1]
    assert "negative sequence" in reasons[2]
    assert all(header_value(h, H_TOPIC) == topic for _, h in parked)
    assert parked[0][0] == b"not json at all", "the original bytes are kept"


async def test_flaky_handler_is_retried_then_dead_lettered_after_max_attempts(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    FAILURES.clear()
    FAILURES[100] = 2  # succeeds on the third attempt
    FAILURES[200] = 99  # never succeeds
    for seq in (100, 200, 300):
        await send(
            producer, topic, new_event(LoanTouched(loan_id="L-flaky", seq=seq), source="kit-test")
        )

    consumer = consumer_for(topic, group, uow_factory, producer, attempts=3)
    await consumer.start()
    try:
        await drain(consumer, engine, 1)
        parked = await read_dead_letters(group + ".dlt", 2)
    finally:
        await consumer.stop()

    # 300 is not applied past 200: the loan waits behind its dead letter, in order
    assert await effect_rows(engine) == [("L-flaky", 100)]
    assert len(parked) == 2
    assert header_value(parked[0][1], H_ATTEMPTS) == "3"
    assert "flaky handler for seq 200" in (header_value(parked[0][1], H_REASON) or "")
    assert "key parked behind" in (header_value(parked[1][1], H_REASON) or "")

    # The cause is fixed; replaying the dead letters applies the parked events in order.
    FAILURES.clear()
    assert (await replay(KAFKA, group)).replayed == 2
    again = consumer_for(topic, group, uow_factory, producer)
    await again.start()
    try:
        await drain(again, engine, 3)
    finally:
        await again.stop()
    assert await effect_rows(engine) == [("L-flaky", 100), ("L-flaky", 200), ("L-flaky", 300)]


async def test_one_keys_events_are_handled_in_order(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    for seq in range(60):
        await send(
            producer, topic, new_event(LoanTouched(loan_id=f"L-{seq % 3}", seq=seq), source="t")
        )
    consumer = consumer_for(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        await drain(consumer, engine, 60)
    finally:
        await consumer.stop()
    rows = await effect_rows(engine)
    for k in range(3):
        assert [s for loan, s in rows if loan == f"L-{k}"] == list(range(k, 60, 3))


async def test_stop_event_ends_the_run_loop(
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    stop = asyncio.Event()
    task = asyncio.create_task(consumer_for(topic, group, uow_factory, producer).run(stop))
    await asyncio.sleep(1)
    stop.set()
    await asyncio.wait_for(task, timeout=10)


async def test_duplicate_from_a_relay_crash_is_absorbed_by_the_consumer(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
    db_url: str,
) -> None:
    from lendkit.outbox.relay import OutboxRelay

    from .test_outbox_relay import CrashAfterSend, event_on

    topic, group = topic_and_group
    async with uow_factory() as uow:
        await uow.emit_all([event_on(topic, "L-relay-crash", seq) for seq in (1, 2, 3)])
        await uow.commit()
    with pytest.raises(RuntimeError):
        await CrashAfterSend(engine, producer, service="t", database_url=db_url).publish_pending()
    await OutboxRelay(engine, producer, service="t", database_url=db_url).publish_pending()

    consumer = consumer_for(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        handled = 0
        for _ in range(40):
            handled += await consumer.poll_once(timeout_ms=250)
            if handled >= 6:
                break
    finally:
        await consumer.stop()
    assert handled == 6, "both copies of each event were delivered"
    assert await effect_rows(engine) == [
        ("L-relay-crash", 1),
        ("L-relay-crash", 2),
        ("L-relay-crash", 3),
    ]


async def test_a_namespaced_consumer_joins_its_group_under_its_namespace(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
) -> None:
    """Two environments on one cluster (topic namespaces ``a.`` and ``b.``) run the same
    service: each commits under its own group id (``<namespace><group>``), so they never
    share a group, rebalance each other or read each other's committed offsets."""
    run = unique("ns")
    group = "kit-shared-name"
    for ns in ("a.", "b."):
        await create_topics(f"{run}.{ns}kit-in", partitions=1)
        await create_topics(f"{run}.{ns}{group}.dlt", partitions=1)
    consumers = [
        IdempotentConsumer(
            bootstrap_servers=KAFKA,
            group=group,
            topics=["kit-in"],
            handlers={"kittest.loan.touched.v1": record_effect},
            uow_factory=uow_factory,
            producer=producer,
            topic_namespace=f"{run}.{ns}",
        )
        for ns in ("a.", "b.")
    ]
    for n, ns in enumerate(("a.", "b.")):
        event = new_event(LoanTouched(loan_id=f"L-{run}-{ns}", seq=100 + n), source="kit-test")
        await send(producer, f"{run}.{ns}kit-in", event)
    for consumer in consumers:
        await consumer.start()
    try:

        async def both_applied() -> bool:
            for consumer in consumers:
                await consumer.poll_once(timeout_ms=200)
            mine = [r for r in await effect_rows(engine) if r[0].startswith(f"L-{run}-")]
            return len(mine) == 2

        await eventually(both_applied, timeout=30)
        for consumer in consumers:
            await consumer.commit_done()
    finally:
        for consumer in consumers:
            await consumer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        for ns in ("a.", "b."):
            committed = await admin.list_consumer_group_offsets(f"{run}.{ns}{group}")
            assert {tp.topic for tp in committed} == {f"{run}.{ns}kit-in"}
    finally:
        await admin.close()
