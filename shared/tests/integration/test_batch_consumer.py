"""Batch mode of the idempotent consumer: a run of one partition's records in one transaction,
with the same guarantees as one by one (one effect per event id, order, dead letters)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.consumer import Batchable, IdempotentConsumer, RejectedEvent, RetryPolicy
from lendkit.db import UnitOfWork
from lendkit.dead_letters import H_REASON, header_value
from lendkit.events import CloudEvent, EventPayload, event_type, new_event
from lendkit.testing import KAFKA, create_topics, unique

from .conftest import LoanTouched, effects
from .test_idempotent_consumer import drain, effect_rows, read_dead_letters, send

BATCH_SIZES: list[int] = []
# Every sequence number handed to the batch function, in order: a duplicate that slipped through
# would show up here twice, however the broker happened to split the records into fetches.
BATCHED_SEQS: list[int] = []


@event_type("kittest.loan.noted.v1", topic="kittest.loans", description="test only")
class LoanNoted(EventPayload):
    loan_id: str
    seq: int


async def record_many(uow: UnitOfWork, events: list[CloudEvent]) -> None:
    BATCH_SIZES.append(len(events))
    rows = []
    for event in events:
        payload = event.payload(LoanTouched)
        BATCHED_SEQS.append(payload.seq)
        if payload.seq < 0:
            raise RejectedEvent(f"negative sequence {payload.seq} can never be applied")
        rows.append({"event_id": event.id, "loan_id": payload.loan_id, "seq": payload.seq})
    await uow.session.execute(insert(effects), rows)


async def record_one(uow: UnitOfWork, event: CloudEvent) -> None:
    payload = event.payload(LoanNoted)
    await uow.session.execute(
        insert(effects).values(event_id=event.id, loan_id=payload.loan_id, seq=payload.seq)
    )


def batch_consumer(
    topic: str, group: str, uow_factory: Callable[[], UnitOfWork], producer: AIOKafkaProducer
) -> IdempotentConsumer[UnitOfWork]:
    return IdempotentConsumer(
        bootstrap_servers=KAFKA,
        group=group,
        topics=[topic],
        handlers={
            "kittest.loan.touched.v1": Batchable(record_many),
            "kittest.loan.noted.v1": record_one,
        },
        uow_factory=uow_factory,
        producer=producer,
        batch_size=500,
        retry=RetryPolicy(max_attempts=2, backoff_ms=10, backoff_max_ms=50),
    )


@pytest.fixture
async def topic_and_group() -> tuple[str, str]:
    topic, group = unique("kit-batch"), unique("kit-batch-group")
    await create_topics(topic, partitions=1)
    await create_topics(group + ".dlt", partitions=1)
    return topic, group


def touched(loan_id: str, seq: int) -> CloudEvent:
    return new_event(LoanTouched(loan_id=loan_id, seq=seq), source="kit-test")


async def test_duplicates_inside_and_across_batches_have_one_effect(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    first = [touched("L-b", seq) for seq in range(5)]
    for event in [*first, first[1], first[3]]:  # duplicates inside the batch
        await send(producer, topic, event)
    BATCH_SIZES.clear()
    BATCHED_SEQS.clear()
    consumer = batch_consumer(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        await drain(consumer, engine, 5)
        assert max(BATCH_SIZES) == 5, "one call with the five first-seen events"
        assert BATCHED_SEQS == [0, 1, 2, 3, 4], "duplicates inside a batch never reach it"
        # redelivered (another producer retry, a replay): across batches
        later = [first[0], touched("L-b", 5), first[4], touched("L-b", 6)]
        for event in later:
            await send(producer, topic, event)
        await drain(consumer, engine, 7)
        for _ in range(3):
            await consumer.poll_once(timeout_ms=200)
    finally:
        await consumer.stop()
    assert await effect_rows(engine) == [("L-b", s) for s in range(7)]
    # The later records may arrive in one fetch or several (the fetcher runs in the background),
    # so the check is on what reached the batch function, not on how it was split.
    assert BATCHED_SEQS == [0, 1, 2, 3, 4, 5, 6], "only the two new events reach the batch function"


async def test_poison_event_inside_a_batch_is_dead_lettered_and_the_rest_applied(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    bad_payload = touched(
        "L-p-bad", 99
    )  # poison on loans of their own (a dead letter parks its loan)
    bad_payload = CloudEvent(**{**bad_payload.__dict__, "data": b'{"loan_id": "L-p"}'})
    for event in [touched("L-p", 1), touched("L-p-neg", -1), touched("L-p", 2), bad_payload]:
        await send(producer, topic, event)
    await send(producer, topic, touched("L-p", 3))
    consumer = batch_consumer(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        await drain(consumer, engine, 3)
        for _ in range(2):
            await consumer.poll_once(timeout_ms=200)
    finally:
        await consumer.stop()
    assert await effect_rows(engine) == [("L-p", 1), ("L-p", 2), ("L-p", 3)]
    parked = await read_dead_letters(group + ".dlt", 2)
    reasons = [header_value(h, H_REASON) or "" for _, h in parked]
    assert len(parked) == 2
    assert "negative sequence" in reasons[0]
    assert "payload invalid" in reasons[1]


async def test_partition_order_is_kept_across_batchable_and_other_events(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    topic_and_group: tuple[str, str],
) -> None:
    topic, group = topic_and_group
    for seq in range(40):
        if seq % 7 == 3:
            event = new_event(LoanNoted(loan_id="L-o", seq=seq), source="kit-test")
        else:
            event = touched("L-o", seq)
        await send(producer, topic, event)
    await (await producer.send(topic, value=b"not a cloud event", key=b"L-o"))
    await send(producer, topic, touched("L-o", 40))
    BATCH_SIZES.clear()
    consumer = batch_consumer(topic, group, uow_factory, producer)
    await consumer.start()
    try:
        await drain(consumer, engine, 41)
    finally:
        await consumer.stop()
    assert await effect_rows(engine) == [("L-o", s) for s in range(41)]
    assert max(BATCH_SIZES) > 1
