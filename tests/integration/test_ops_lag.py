"""Consumer lag as the broker sees it: end offset minus the group's committed offset."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from lendkit.ops.lag import LagReader, consumer_lags, total_lag
from lendkit.testing import KAFKA, create_topics, unique

pytestmark = pytest.mark.integration


async def test_lag_counts_what_a_group_has_not_committed() -> None:
    topic = unique("lag")
    group = unique("lag-group")
    await create_topics(topic, partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, b"x", key=b"k", partition=i % 2)
    finally:
        await producer.stop()

    # Never committed: everything on the topic is lag.
    assert await total_lag(KAFKA, [group], {group: [topic]}) == 5

    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): 3})
    finally:
        await consumer.stop()

    lags = {
        (p.topic, p.partition): p.lag for p in await consumer_lags(KAFKA, [group], {group: [topic]})
    }
    assert lags == {(topic, 0): 0, (topic, 1): 2}
    # Without the topic list, what the group committed on is what it reads.
    assert [p.partition for p in await consumer_lags(KAFKA, [group])] == [0]


async def test_a_kept_reader_sees_lag_fall_as_the_group_commits() -> None:
    topic = unique("lag")
    group = unique("lag-group")
    await create_topics(topic, partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
    await producer.start()
    try:
        for _ in range(3):
            await producer.send_and_wait(topic, b"x", partition=0)
    finally:
        await producer.stop()
    async with LagReader(KAFKA) as reader:
        assert [p.lag for p in await reader.lags([group], {group: [topic]})] == [3]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=KAFKA, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            await consumer.commit({TopicPartition(topic, 0): 3})
        finally:
            await consumer.stop()
        # The same open reader, asked again: the commit shows.
        assert [p.lag for p in await reader.lags([group], {group: [topic]})] == [0]
