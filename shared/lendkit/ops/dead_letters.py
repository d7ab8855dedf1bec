"""Dead letters listed with their reasons (the headers and replay are ``lendkit.dead_letters``).

Listing reads a group's dead-letter topic without a consumer group, from the start up to
the end offsets seen when it starts, so it never moves the replay's progress. Each entry
says what the message was (type, key, original topic, partition and offset), why it failed
(reason, error type, attempts, when) and whether it is *parked* (it failed again after a
replay, so a plain replay leaves it alone) or already replayed by a plain replay run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from lendkit.contracts.topics import CONSUMER_GROUPS
from lendkit.dead_letters import (
    H_ATTEMPTS,
    H_ERROR,
    H_FAILED_AT,
    H_GROUP,
    H_OFFSET,
    H_PARTITION,
    H_REASON,
    H_TOPIC,
    dead_letter_topic,
    header_value,
    replay_count,
)
from lendkit.ops.metadata import topic_partitions
from lendkit.ops.tail import event_line


@dataclass(frozen=True, slots=True)
class DeadLetter:
    group: str
    topic: str
    partition: int
    offset: int
    type: str
    key: str | None
    event_id: str | None
    reason: str
    error_type: str | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    attempts: int | None
    failed_at: str | None
    replays: int
    #: A plain replay has already sent it back (its offset is behind the replay's progress).
    replayed: bool
    summary: str

    @property
    def parked(self) -> bool:
        return self.replays > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "type": self.type,
            "key": self.key,
            "event_id": self.event_id,
            "reason": self.reason,
            "error_type": self.error_type,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
            "replays": self.replays,
            "parked": self.parked,
            "replayed": self.replayed,
            "summary": self.summary,
        }


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def dead_letter_of(record: ConsumerRecord, group: str, replayed_up_to: int | None) -> DeadLetter:
    headers = list(record.headers or ())
    line = event_line(record)
    return DeadLetter(
        group=header_value(headers, H_GROUP) or group,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        type=line.type,
        key=line.key,
        event_id=line.id,
        reason=header_value(headers, H_REASON) or "(no reason recorded)",
        error_type=header_value(headers, H_ERROR),
        original_topic=header_value(headers, H_TOPIC),
        original_partition=_int(header_value(headers, H_PARTITION)),
        original_offset=_int(header_value(headers, H_OFFSET)),
        attempts=_int(header_value(headers, H_ATTEMPTS)),
        failed_at=header_value(headers, H_FAILED_AT),
        replays=replay_count(headers),
        replayed=replayed_up_to is not None and record.offset < replayed_up_to,
        summary=line.summary,
    )


async def list_dead_letters(
    bootstrap: str,
    group: str,
    *,
    namespace: str = "",
    limit: int = 200,
    idle_ms: int = 500,
) -> list[DeadLetter]:
    """The newest ``limit`` dead letters of ``group`` (under ``namespace``), oldest first.

    ``group`` is the consumer group as the service names it; its dead-letter topic is
    ``namespace + group + ".dlt"`` and its plain-replay progress group that topic's name
    plus ``.replay``."""
    topic = namespace + dead_letter_topic(group)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        numbers = (await topic_partitions(bootstrap, [topic])).get(topic, [])
        partitions = [TopicPartition(topic, p) for p in numbers]
        if not partitions:
            return []
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        progress = await _replay_progress(bootstrap, topic + ".replay", partitions)
        for tp in partitions:
            consumer.seek(tp, max(starts[tp], ends[tp] - limit))
        found: list[DeadLetter] = []
        remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        idle = 0
        while remaining and idle < 4:
            batch = await consumer.getmany(*remaining, timeout_ms=idle_ms, max_records=500)
            idle = 0 if batch else idle + 1
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    found.append(dead_letter_of(record, group, progress.get(tp)))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        found.sort(key=lambda d: (d.failed_at or "", d.partition, d.offset))
        return found[-limit:]
    finally:
        await consumer.stop()


async def _replay_progress(
    bootstrap: str, replay_group: str, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """The offsets the plain replay of a dead-letter topic has committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=replay_group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        progress: dict[TopicPartition, int] = {}
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is not None:
                progress[tp] = committed
        return progress
    finally:
        await consumer.stop()


async def all_dead_letters(
    bootstrap: str,
    groups: Sequence[str] = CONSUMER_GROUPS,
    *,
    namespace: str = "",
    limit: int = 200,
) -> list[DeadLetter]:
    """Every group's dead letters, newest last."""
    found: list[DeadLetter] = []
    for group in groups:
        found.extend(await list_dead_letters(bootstrap, group, namespace=namespace, limit=limit))
    return sorted(found, key=lambda d: d.failed_at or datetime.min.replace(tzinfo=UTC).isoformat())
