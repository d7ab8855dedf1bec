"""The consumer contract: the same cases re-run against every service's handler table.

A service subclasses :class:`ConsumerContract` in its integration tests (the subclass's
name starts with ``Test``) and supplies:

- :meth:`~ConsumerContract.consumer_spec`: its ``ConsumerSpec`` (topics and handlers);
- :meth:`~ConsumerContract.environment`: an async context manager giving its unit-of-work
  factory on a fresh, migrated database, and a started producer;
- :meth:`~ConsumerContract.sample`: the ``n``-th valid event of a handled type for a key,
  and optionally :meth:`~ConsumerContract.new_key` (state a key needs, e.g. a loan) and
  :meth:`~ConsumerContract.effects` (how often the event's effect is visible).

The suite runs a real ``IdempotentConsumer`` over real Kafka and PostgreSQL, on private
copies of the spec's topics (one topic namespace and consumer group per class), every
record on partition 0 so the order between keys is fixed. It asserts properties of what
was committed (processed events, dead letters, the order the handlers applied events),
never broker batching or timing.

The poison case sends, onto every topic the spec reads, each kind of bad record (not JSON,
off-contract, a type outside the catalogue, an unknown version, a payload of
``HUGE_PAYLOAD_BYTES``, no CloudEvents headers, a key that is not the payload's) and checks
each dead letter's reason, then that good events behind them are applied, or held behind
a parked key, in order (see docs/faults.md).

The handlers are the service's own, wrapped only to note which event ids they applied, in
order.
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text

from lendkit.consumer import Batchable, Handler, IdempotentConsumer, RetryPolicy
from lendkit.db import UnitOfWork
from lendkit.dead_letters import H_REASON, header_value
from lendkit.events import CloudEvent, EventPayload, new_event
from lendkit.events.catalogue import CATALOGUE
from lendkit.runtime import ConsumerSpec
from lendkit.testing.servers import KAFKA, create_topics, unique

SOURCE = "/tests/consumer-contract"
#: A type no contract of the catalogue defines.
UNKNOWN_TYPE = "consumercontract.never.handled.v1"
#: The size of the "huge payload" poison: the largest record the outbox itself would
#: publish (``lendkit.outbox.writer.MAX_EVENT_BYTES``), so it reaches the consumer.
HUGE_PAYLOAD_BYTES = 1_000_000


@dataclass(frozen=True)
class Poison:
    """One poison record: what is sent, and what the dead letter's reason must say."""

    kind: str
    topic: str  # the production topic name (the world namespaces it)
    key: str
    value: bytes
    headers: list[tuple[str, bytes]]
    reason: str  # a substring of the dead letter's ``dlt_reason``
    parks_key: bool  # whether the key waits behind it (its later events are held)
    marker: str  # identifies the dead letter: its ce_id, or a value substring


@dataclass
class ContractWorld:
    """What one contract class runs against."""

    consumer: IdempotentConsumer[Any]
    producer: AIOKafkaProducer
    uow_factory: Callable[[], UnitOfWork]
    namespace: str
    applied: list[str] = field(default_factory=list)  # event ids, in the order applied
    sent: int = 0
    handled: int = 0

    async def send(self, event: CloudEvent, *, value: bytes | None = None) -> None:
        await self.producer.send_and_wait(
            self.namespace + event.topic,
            value=event.data if value is None else value,
            key=event.key_bytes(),
            headers=event.headers(),
            partition=0,
        )
        self.sent += 1

    async def send_raw(
        self, topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        """A record exactly as given (on partition 0 of the namespaced ``topic``)."""
        await self.producer.send_and_wait(
            self.namespace + topic, value=value, key=key.encode(), headers=headers, partition=0
        )
        self.sent += 1

    async def drain(self, timeout: float) -> None:
        """Poll until every record sent so far was handled (and its offset committed)."""
        deadline = time.monotonic() + timeout
        while self.handled < self.sent:
            assert time.monotonic() < deadline, f"handled {self.handled} of {self.sent}"
            self.handled += await self.consumer.poll_once(timeout_ms=200)

    async def processed(self, event_id: str) -> int:
        async with self.uow_factory() as uow:
            count = await uow.session.scalar(
                text(
                    "SELECT count(*) FROM processed_events "
                    "WHERE consumer_group = :g AND event_id = :id"
                ),
                {"g": self.consumer.group, "id": event_id},
            )
        return int(count or 0)

    async def dead_letters(self) -> list[ConsumerRecord]:
        """Every record on the group's dead-letter topic (sent and acknowledged before the
        consumer's offsets were committed, so all of them are there now)."""
        tp = TopicPartition(self.consumer.dead_letter_topic, 0)
        reader = AIOKafkaConsumer(
            bootstrap_servers=KAFKA, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await reader.start()
        try:
            reader.assign([tp])
            end = (await reader.end_offsets([tp]))[tp]
            reader.seek(tp, 0)
            found: list[ConsumerRecord] = []
            deadline = time.monotonic() + 10.0
            while await reader.position(tp) < end:
                assert time.monotonic() < deadline, "dead-letter topic not readable"
                batch = await reader.getmany(tp, timeout_ms=200)
                found.extend(batch.get(tp, []))
            return found
        finally:
            await reader.stop()

    async def dead_letter_marked(self, marker: str) -> ConsumerRecord | None:
        """The dead letter whose ce_id is ``marker`` or whose value contains it."""
        for record in await self.dead_letters():
            if header_value(list(record.headers), "ce_id") == marker or (
                record.value is not None and marker.encode() in record.value
            ):
                return record
        return None

    async def dead_letter_of(self, event: CloudEvent) -> ConsumerRecord | None:
        for record in await self.dead_letters():
            if header_value(list(record.headers), "ce_id") == event.id:
                return record
        return None


def _topic_of(event_type: str) -> str:
    spec = CATALOGUE.spec_for_type(event_type)
    assert spec is not None, f"{event_type} is not in the catalogue"
    return spec.topic


def _key_field_of(event_type: str) -> str | None:
    spec = CATALOGUE.spec_for_type(event_type)
    return None if spec is None else spec.key_field


def _noting(handler: Handler[Any], applied: list[str]) -> Handler[Any]:
    """``handler``, noting the ids it applied (after it returned) in order."""
    if isinstance(handler, Batchable):

        async def many(uow: Any, events: list[CloudEvent]) -> None:
            await handler.many(uow, events)
            applied.extend(e.id for e in events)

        return Batchable(many)

    async def one(uow: Any, event: CloudEvent) -> None:
        await handler(uow, event)
        applied.append(event.id)

    return one


class ConsumerContract(ABC):
    """The consumer contract; see the module's description. Not collected itself (its name
    does not start with ``Test``)."""

    #: seconds one case may take to consume what it sent
    timeout: ClassVar[float] = 30.0

    # --- what a service supplies ------------------------------------------------------

    @abstractmethod
    def consumer_spec(self) -> ConsumerSpec[Any]:
        """The service's consumer spec (production topic names: the suite namespaces them)."""

    @abstractmethod
    def environment(
        self,
    ) -> AbstractAsyncContextManager[tuple[Callable[[], UnitOfWork], AIOKafkaProducer]]:
        """The service's unit-of-work factory on a fresh database, and a started producer."""

    @abstractmethod
    def sample(self, key: str, n: int) -> EventPayload:
        """The ``n``-th (from 1) valid event of a handled type for ``key``: one whose handler
        has an effect (records it as processed). Events of one key follow in ``n`` order."""

    async def new_key(self, world: ContractWorld) -> str:
        """A key events can be sampled for (override to create what the handler needs)."""
        return unique("K")

    async def effects(self, world: ContractWorld, event: CloudEvent) -> int | None:
        """How many times ``event``'s effect is visible, or None if only its
        processed-event record can be observed (the default)."""
        return None

    # --- the world --------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    async def world(cls) -> AsyncIterator[ContractWorld]:
        self = cls()
        spec = self.consumer_spec()
        namespace = f"cc{uuid.uuid4().hex[:8]}."
        async with self.environment() as (uow_factory, producer):
            applied: list[str] = []
            consumer: IdempotentConsumer[Any] = IdempotentConsumer(
                bootstrap_servers=KAFKA,
                group=unique("consumer-contract"),
                topics=list(spec.topics),
                handlers={t: _noting(h, applied) for t, h in spec.by_type.items()},
                uow_factory=uow_factory,
                producer=producer,
                retry=RetryPolicy(max_attempts=2, backoff_ms=10, backoff_max_ms=50),
                topic_namespace=namespace,
            )
            await create_topics(*consumer.topics, partitions=3)
            await create_topics(consumer.dead_letter_topic, partitions=1)
            await consumer.start()
            try:
                yield ContractWorld(consumer, producer, uow_factory, namespace, applied)
            finally:
                await consumer.stop()

    async def event(self, world: ContractWorld, key: str | None = None, n: int = 1) -> CloudEvent:
        key = key or await self.new_key(world)
        event = new_event(self.sample(key, n), source=SOURCE)
        assert event.type in self.consumer_spec().by_type, f"{event.type} is not handled"
        return event

    # --- the cases --------------------------------------------------------------------

    async def test_a_duplicate_delivery_has_one_effect(self, world: ContractWorld) -> None:
        event = await self.event(world)
        await world.send(event)
        await world.send(event)  # redelivered: the same event id
        await world.drain(self.timeout)

        assert await world.processed(event.id) == 1
        assert world.applied.count(event.id) == 1
        effects = await self.effects(world, event)
        assert effects in (None, 1), f"the event's effect is visible {effects} times"
        assert await world.dead_letter_of(event) is None

    async def test_an_unknown_event_type_is_dead_lettered_and_its_key_goes_on(
        self, world: ContractWorld
    ) -> None:
        handled = await self.event(world)
        unknown = replace(handled, id=str(uuid.uuid4()), type=UNKNOWN_TYPE)
        after = await self.event(world, handled.key)  # the same key, behind it
        await world.send(unknown)
        await world.send(after)
        await world.drain(self.timeout)

        assert await world.processed(unknown.id) == 0, "an unknown type records nothing"
        assert unknown.id not in world.applied
        dead = await world.dead_letter_of(unknown)
        assert dead is not None, "a type outside the catalogue is dead-lettered"
        assert UNKNOWN_TYPE in (header_value(list(dead.headers), H_REASON) or "")
        assert await world.processed(after.id) == 1, "the same key's next record is applied"

    async def test_a_catalogued_type_it_does_not_handle_is_ignored(
        self, world: ContractWorld
    ) -> None:
        handled = set(self.consumer_spec().by_type)
        topics = set(self.consumer_spec().topics)
        others = [s for s in CATALOGUE if s.topic in topics and s.type not in handled]
        if not others:
            pytest.skip("this consumer handles every type of the topics it reads")
        event = await self.event(world)
        other = replace(event, id=str(uuid.uuid4()), type=others[0].type, topic=others[0].topic)
        after = await self.event(world, event.key)
        await world.send(other)
        await world.send(after)
        await world.drain(self.timeout)

        assert await world.processed(other.id) == 0, "an ignored event records nothing"
        assert await world.dead_letter_of(other) is None, "the tolerant reader ignores it"
        assert await world.processed(after.id) == 1

    async def test_an_unknown_version_of_a_handled_type_is_dead_lettered(
        self, world: ContractWorld
    ) -> None:
        handled = await self.event(world)
        base = handled.type.rsplit(".v", 1)[0]
        unknown = replace(handled, id=str(uuid.uuid4()), type=f"{base}.v999")
        await world.send(unknown)
        await world.drain(self.timeout)

        assert await world.processed(unknown.id) == 0
        dead = await world.dead_letter_of(unknown)
        assert dead is not None, "an unknown version goes to the dead-letter topic"
        reason = header_value(list(dead.headers), H_REASON) or ""
        assert "unknown version" in reason and unknown.type in reason, reason

    @pytest.mark.parametrize(
        "poison",
        [b"{not json", json.dumps({"unexpected": True}).encode()],
        ids=["invalid-json", "off-contract"],
    )
    async def test_a_poison_payload_is_dead_lettered_and_the_next_key_goes_on(
        self, world: ContractWorld, poison: bytes
    ) -> None:
        bad = await self.event(world)
        good = await self.event(world)  # another key, behind it on the same partition
        assert bad.key != good.key
        await world.send(bad, value=poison)
        await world.send(good)
        await world.drain(self.timeout)

        dead = await world.dead_letter_of(bad)
        assert dead is not None, "a poison payload goes to the dead-letter topic"
        assert dead.value == poison
        assert header_value(list(dead.headers), H_REASON), "with the reason"
        assert await world.processed(bad.id) == 0
        assert await world.processed(good.id) == 1, "the next record of another key is applied"
        assert await world.dead_letter_of(good) is None

    def handled_type_on(self, topic: str) -> str:
        """A type this consumer handles on ``topic`` (one with a key field, if any)."""
        handled = [t for t in self.consumer_spec().by_type if _topic_of(t) == topic]
        assert handled, f"the consumer reads {topic} but handles no type on it"
        keyed = [t for t in handled if _key_field_of(t) is not None]
        return sorted(keyed or handled)[0]

    async def poisons(self, world: ContractWorld) -> list[Poison]:
        """Every kind of poison record on every topic the consumer reads."""
        found: list[Poison] = []
        for topic in self.consumer_spec().topics:
            handled = self.handled_type_on(topic)
            base = handled.rsplit(".v", 1)[0]
            for kind in ("invalid-json", "off-contract", "unknown-type", "unknown-version"):
                key, event_id = await self.new_key(world), str(uuid.uuid4())
                template = replace(await self.event(world, key), id=event_id, topic=topic)
                value = {
                    "invalid-json": b"{not json",
                    "off-contract": json.dumps({"unexpected": True}).encode(),
                }.get(kind, template.data)
                typed = {"unknown-type": UNKNOWN_TYPE, "unknown-version": f"{base}.v999"}
                headers = replace(template, type=typed.get(kind, handled)).headers()
                reason = {
                    "invalid-json": "payload invalid",
                    "off-contract": "payload invalid",
                    "unknown-type": f"unknown event type {UNKNOWN_TYPE!r}",
                    "unknown-version": f"unknown version {base}.v999",
                }[kind]
                parks = kind != "unknown-type"
                found.append(Poison(kind, topic, key, value, headers, reason, parks, event_id))
            key, event_id = await self.new_key(world), str(uuid.uuid4())
            huge = replace(await self.event(world, key), id=event_id, type=handled)
            padding = "x" * (HUGE_PAYLOAD_BYTES - 20)
            value = json.dumps({"padding": padding}).encode()
            found.append(
                Poison("huge", topic, key, value, huge.headers(), "payload invalid", True, event_id)
            )
            key, marker = await self.new_key(world), f"headerless-{uuid.uuid4()}"
            value = json.dumps({"poison": marker}).encode()
            found.append(
                Poison(
                    "no-headers",
                    topic,
                    key,
                    value,
                    [],
                    "missing CloudEvents headers",
                    False,
                    marker,
                )
            )
        # A valid event of a handled type on a record keyed by another key.
        key, owner = await self.new_key(world), await self.new_key(world)
        misrouted = await self.event(world, owner)
        found.append(
            Poison(
                "wrong-key",
                misrouted.topic,
                key,
                misrouted.data,
                misrouted.headers(),
                f"record key {key!r} is not the payload's",
                False,
                misrouted.id,
            )
        )
        return found

    async def test_every_kind_of_poison_on_every_topic_is_dead_lettered_with_its_reason(
        self, world: ContractWorld
    ) -> None:
        poisons = await self.poisons(world)
        for poison in poisons:
            await world.send_raw(poison.topic, poison.key, poison.value, poison.headers)
        await world.drain(self.timeout)  # the consumer kept up with every poison
        # Then a good event on each poisoned key, and on a fresh key.
        followers = [(p, await self.event(world, p.key)) for p in poisons]
        fresh = await self.event(world)
        for _, event in followers:
            await world.send(event)
        await world.send(fresh)
        await world.drain(self.timeout)

        for poison in poisons:
            dead = await world.dead_letter_marked(poison.marker)
            assert dead is not None, f"{poison.kind} on {poison.topic} is dead-lettered"
            reason = header_value(list(dead.headers), H_REASON) or ""
            assert poison.reason in reason, (poison.kind, poison.topic, reason)
            assert dead.value == poison.value, "the dead letter keeps the record as it came"
            if poison.kind == "wrong-key":
                assert await world.processed(poison.marker) == 0, "a misrouted event no effect"
        for poison, event in followers:
            if poison.parks_key:  # held behind the poison, in order, until it is replayed
                assert await world.processed(event.id) == 0, (poison.kind, poison.topic)
                held = await world.dead_letter_of(event)
                assert held is not None, f"the key behind {poison.kind} holds its next event"
                assert "key parked behind" in (header_value(list(held.headers), H_REASON) or "")
            else:  # the key goes on
                assert await world.processed(event.id) == 1, (poison.kind, poison.topic)
        assert await world.processed(fresh.id) == 1, "another key's event is applied"
        assert await world.dead_letter_of(fresh) is None

    async def test_one_keys_events_are_applied_in_order(self, world: ContractWorld) -> None:
        first, second = await self.new_key(world), await self.new_key(world)
        ones = [await self.event(world, first, n) for n in (1, 2, 3)]
        twos = [await self.event(world, second, n) for n in (1, 2, 3)]
        for one, two in zip(ones, twos, strict=True):  # interleaved on one partition
            await world.send(one)
            await world.send(two)
        await world.drain(self.timeout)

        for events in (ones, twos):
            ids = [e.id for e in events]
            assert [i for i in world.applied if i in ids] == ids
            for event in events:
                assert await world.processed(event.id) == 1


__all__ = [
    "HUGE_PAYLOAD_BYTES",
    "SOURCE",
    "UNKNOWN_TYPE",
    "ConsumerContract",
    "ContractWorld",
    "Poison",
]
