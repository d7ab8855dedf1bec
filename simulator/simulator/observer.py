"""Reads what the platform published during the run, as a subscriber would: every topic of
the run's namespace from the offsets it had when the run began, without a consumer group
(nothing is committed; the platform's groups and lags are untouched).

The borrower's phone is one of its readers (a delivered reminder makes a forgetful borrower
likelier to pay); the report and the invariants are the others."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from lendkit.contracts.topics import (
    LEDGER_LOANS,
    NOTIFIER_CONTACTS,
    OVERDUE_LOANS,
    RESTRUCTURE_PLANS,
)
from lendkit.events.envelope import CloudEvent
from simulator.target import PlatformTarget

WATCHED = (LEDGER_LOANS, OVERDUE_LOANS, NOTIFIER_CONTACTS, RESTRUCTURE_PLANS)


@dataclass(frozen=True, slots=True)
class Seen:
    """One event as read: its CloudEvent id, type, message key and JSON payload."""

    id: str
    type: str
    key: str | None
    data: dict[str, Any]


class Observer:
    def __init__(self, target: PlatformTarget, on_event: Callable[[Seen], None]) -> None:
        self.target = target
        self.on_event = on_event
        self.read = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.target.kafka, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        parts = []
        for name in WATCHED:
            topic = self.target.topic(name)
            for p in consumer.partitions_for_topic(topic) or await _partitions(consumer, topic):
                parts.append(TopicPartition(topic, p))
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, ends[tp])
        self._consumer, self._partitions = consumer, parts

    async def offsets(self, topics: list[str]) -> dict[str, int]:
        """The end offset of partition 0 of each topic (dead-letter topics have one)."""
        assert self._consumer is not None
        parts = [TopicPartition(t, 0) for t in topics]
        ends = await self._consumer.end_offsets(parts)
        return {tp.topic: ends[tp] for tp in parts}

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def catch_up(self) -> int:
        """Read everything published so far; returns how many events were read."""
        assert self._consumer is not None
        consumer = self._consumer
        ends = await consumer.end_offsets(self._partitions)
        before = self.read
        while any([await consumer.position(tp) < ends[tp] for tp in self._partitions]):
            batch = await consumer.getmany(timeout_ms=100, max_records=5000)
            for records in batch.values():
                for r in records:
                    event = CloudEvent.from_kafka(
                        r.topic, r.key, r.value, list(r.headers), r.partition
                    )
                    self.read += 1
                    self.on_event(Seen(event.id, event.type, event.key, json.loads(event.data)))
        return self.read - before


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()
