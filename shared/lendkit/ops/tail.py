"""Reading the platform's topics as people read them: one line per CloudEvent.

A record becomes an :class:`EventLine`: where it is (topic, partition, offset), the
CloudEvents attributes that matter to an operator (type, key, time, id) and a payload
summary (the few fields that say what happened: amounts with their currency, dates, DPD,
buckets, channels; never an address). Records that are not CloudEvents (a poison message)
are shown too, marked ``malformed``, because an operator tailing a topic wants to see them.

:func:`tail` reads from the end (what arrives from now on) or from a time (``since``, by the
broker's timestamp index), with filters on the type and the loan id. It reads without a
consumer group (assigned partitions, nothing committed), so tailing never moves any
service's offsets. The ops CLI, the console and the simulator share it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord, TopicPartition

from lendkit.contracts.topics import TOPICS
from lendkit.events.envelope import CloudEvent, MalformedEvent
from lendkit.ops.metadata import topic_partitions

#: Payload fields a summary shows first, in this order (others follow, up to the limit).
_SUMMARY_FIRST = (
    "payment_id",
    "amount_minor",
    "currency",
    "business_date",
    "value_date",
    "due_date",
    "seq",
    "days_past_due",
    "dpd",
    "from_bucket",
    "to_bucket",
    "bucket",
    "stage",
    "component",
    "channel",
    "purpose",
    "rule",
    "plan_id",
    "status",
    "reason",
)
#: Never shown, whatever the payload carries (contacts are ids only by contract; belt and braces).
_NEVER_SHOWN = frozenset({"phone", "phone_number", "email", "address", "to", "recipient"})
_SUMMARY_FIELDS = 6
#: Empty polls after which a reader that does not follow gives up on what is left.
_IDLE_POLLS = 4
#: How producers place a keyed record (murmur2 of the key), so a loan's partition is known.
_PARTITIONER = DefaultPartitioner()


def loan_topics(namespace: str = "") -> list[str]:
    """The platform's event topics (not the dead-letter topics), under ``namespace``."""
    return [namespace + t.name for t in TOPICS if not t.name.endswith(".dlt")]


def summarise(payload: object, *, fields: int = _SUMMARY_FIELDS) -> str:
    """A one-line summary of a payload: scalar fields, the telling ones first."""
    if not isinstance(payload, dict):
        return "" if payload is None else str(payload)[:120]
    scalars = {
        k: v
        for k, v in payload.items()
        if k not in _NEVER_SHOWN and (v is None or isinstance(v, str | int | float | bool))
    }
    scalars.pop("loan_id", None)  # the key already says it
    ordered = [k for k in _SUMMARY_FIRST if k in scalars]
    ordered += [k for k in scalars if k not in ordered]
    return " ".join(f"{k}={scalars[k]}" for k in ordered[:fields] if scalars[k] is not None)


def readable_payload(payload: object) -> object:
    """The payload with the never-shown fields removed (at any depth)."""
    if isinstance(payload, dict):
        return {k: readable_payload(v) for k, v in payload.items() if k not in _NEVER_SHOWN}
    if isinstance(payload, list):
        return [readable_payload(v) for v in payload]
    return payload


@dataclass(frozen=True, slots=True)
class EventLine:
    """One record of a topic, readable."""

    topic: str
    partition: int
    offset: int
    type: str
    key: str | None
    time: datetime
    id: str | None
    summary: str
    payload: object = None
    malformed: str | None = None

    @property
    def loan_id(self) -> str | None:
        if isinstance(self.payload, dict) and isinstance(self.payload.get("loan_id"), str):
            return str(self.payload["loan_id"])
        return self.key

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "type": self.type,
            "key": self.key,
            "loan_id": self.loan_id,
            "time": self.time.isoformat(),
            "id": self.id,
            "summary": self.summary,
            "payload": self.payload,
            "malformed": self.malformed,
        }


def event_line(record: ConsumerRecord) -> EventLine:
    """``record`` as a readable line (a malformed record is shown with why)."""
    broker_time = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    headers = list(record.headers or ())
    try:
        event = CloudEvent.from_kafka(
            record.topic, record.key, record.value, headers, record.partition
        )
    except MalformedEvent as exc:
        key = record.key.decode(errors="replace") if record.key is not None else None
        return EventLine(
            record.topic,
            record.partition,
            record.offset,
            "(malformed)",
            key,
            broker_time,
            None,
            str(exc),
            malformed=str(exc),
        )
    try:
        payload: object = readable_payload(json.loads(event.data))
    except ValueError:
        payload = event.data[:200].decode(errors="replace")
    return EventLine(
        record.topic,
        record.partition,
        record.offset,
        event.type,
        event.key,
        event.time,
        event.id,
        summarise(payload),
        payload,
    )


@dataclass(frozen=True)
class TailFilter:
    """Which lines to keep: any of ``types`` (exact or a prefix ending in ``.``/``*``), one
    loan id, at or after ``since``."""

    types: Sequence[str] = ()
    loan_id: str | None = None
    since: datetime | None = None
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_prefixes", tuple(t.rstrip("*") for t in self.types if t.endswith(("*", ".")))
        )

    def keeps(self, line: EventLine) -> bool:
        if self.types and not (
            line.type in self.types or any(line.type.startswith(p) for p in self._prefixes)
        ):
            return False
        if self.loan_id is not None and self.loan_id not in (line.key, line.loan_id):
            return False
        return self.since is None or line.time >= self.since


async def _assigned(
    consumer: AIOKafkaConsumer, bootstrap: str, topics: Iterable[str]
) -> list[TopicPartition]:
    partitions = [
        TopicPartition(topic, p)
        for topic, numbers in (await topic_partitions(bootstrap, topics)).items()
        for p in numbers
    ]
    consumer.assign(partitions)
    return partitions


async def _seek(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    *,
    since: datetime | None,
    last: int | None,
) -> dict[TopicPartition, int]:
    """Position every partition (at ``since``, ``last`` records back, or the end); the end
    offsets as they were, so a reader that should stop knows where."""
    ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
    if since is not None:
        found = await consumer.offsets_for_times(
            {tp: int(since.timestamp() * 1000) for tp in partitions}
        )
        for tp in partitions:
            at = found.get(tp)
            consumer.seek(tp, at.offset if at is not None else ends[tp])
    else:
        starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            back = 0 if last is None else last
            consumer.seek(tp, max(starts[tp], ends[tp] - back))
    return ends


async def tail(
    bootstrap: str,
    topics: Sequence[str],
    *,
    where: TailFilter | None = None,
    last: int | None = None,
    follow: bool = True,
    limit: int | None = None,
    idle_ms: int = 500,
    on_ready: Callable[[], object] | None = None,
) -> AsyncIterator[EventLine]:
    """Readable lines from ``topics``: from ``where.since`` (by broker timestamp), else the
    last ``last`` records of each partition, else only what arrives from now on. With
    ``follow`` it waits for more; without, it stops at the end offsets seen at the start.
    At most ``limit`` lines (kept by the filter) are yielded. ``on_ready`` is called once
    the partitions are positioned: anything published after it is seen."""
    where = where or TailFilter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="latest"
    )
    await consumer.start()
    try:
        partitions = await _assigned(consumer, bootstrap, topics)
        if not partitions:
            return
        ends = await _seek(consumer, partitions, since=where.since, last=last)
        remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        if on_ready is not None:
            on_ready()
        yielded = idle = 0
        while follow or remaining:
            batch = await consumer.getmany(timeout_ms=idle_ms, max_records=500)
            idle = 0 if batch else idle + 1
            if not follow and idle >= _IDLE_POLLS:
                break
            for tp, records in batch.items():
                for record in records:
                    if not follow and record.offset >= ends[tp]:
                        remaining.discard(tp)
                        break
                    line = event_line(record)
                    if where.keeps(line):
                        yield line
                        yielded += 1
                        if limit is not None and yielded >= limit:
                            return
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()


async def read_lines(
    bootstrap: str,
    topics: Sequence[str],
    *,
    where: TailFilter | None = None,
    last: int | None = None,
    limit: int | None = None,
) -> list[EventLine]:
    """What :func:`tail` yields without following: what is on the topics now."""
    return [
        line
        async for line in tail(bootstrap, topics, where=where, last=last, follow=False, limit=limit)
    ]


async def loan_events(
    bootstrap: str, topics: Sequence[str], loan_id: str, *, last: int = 20_000
) -> list[EventLine]:
    """Every event of one loan on ``topics`` among the last ``last`` records of the
    partition its key hashes to (the producers' default partitioner), oldest first: a
    loan's timeline without reading every partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        key = loan_id.encode()
        partitions = []
        for topic, every in (await topic_partitions(bootstrap, topics)).items():
            if every:
                partitions.append(TopicPartition(topic, _PARTITIONER(key, every, every)))
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = await _seek(consumer, partitions, since=None, last=last)
        found: list[EventLine] = []
        remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        idle = 0
        while remaining and idle < _IDLE_POLLS:
            batch = await consumer.getmany(*remaining, timeout_ms=300, max_records=5_000)
            idle = 0 if batch else idle + 1
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    if record.key == key:
                        found.append(event_line(record))
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return sorted(found, key=lambda line: (line.time, line.topic, line.offset))
    finally:
        await consumer.stop()
