"""``IdempotentConsumer``: reads Kafka, hands each partition's records to their handlers in
order (partitions concurrently), and commits offsets after the database has committed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from functools import partial
from typing import Generic

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition

from lendkit.consumer.batch import OneByOne, Pending, apply_many, apply_many_retrying, run_of
from lendkit.consumer.dead_lettering import DeadLetterer
from lendkit.consumer.decoding import HandlerTable, decode
from lendkit.consumer.handlers import Batchable, Handler, U
from lendkit.consumer.retry import GaveUp, retry
from lendkit.consumer.transactions import apply_one, database_reachable
from lendkit.contracts.topics import kafka_group_id
from lendkit.db import UnitOfWork
from lendkit.dead_letters import H_REPLAYED_FROM, dead_letter_topic, header_value
from lendkit.events.envelope import CloudEvent, MalformedEvent
from lendkit.failures import RejectedEvent, RetryPolicy, UnknownEventType, UnknownEventVersion
from lendkit.logging import get_logger
from lendkit.metrics import CONSUMER_LAG, EVENTS_CONSUMED
from lendkit.parked_keys import KeyParked

log = get_logger(__name__)


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: IdempotentConsumer[UnitOfWork]) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._runner.commit_done()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info(
            "partitions assigned", partitions=[f"{tp.topic}:{tp.partition}" for tp in assigned]
        )


class IdempotentConsumer(Generic[U]):
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group: str,
        topics: list[str],
        handlers: Mapping[str, Handler[U]],
        uow_factory: Callable[[], U],
        producer: AIOKafkaProducer,
        batch_size: int = 200,
        retry: RetryPolicy | None = None,
        topic_namespace: str = "",
    ) -> None:
        self.group = group
        self.kafka_group = kafka_group_id(topic_namespace, group)
        self.topics = [topic_namespace + t for t in topics]
        self.dead_letter_topic = topic_namespace + dead_letter_topic(group)
        self._bootstrap = bootstrap_servers
        self._table: HandlerTable[U] = HandlerTable(handlers)
        self._uow_factory = uow_factory
        self._producer = producer
        self._batch_size = batch_size
        self._retry = retry or RetryPolicy()
        self._dead_letters = DeadLetterer(
            group, self.dead_letter_topic, producer, uow_factory, self._retry
        )
        self._done: dict[TopicPartition, int] = {}  # offsets applied, not yet committed
        self._positions: dict[TopicPartition, int] = {}  # for the lag gauge
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None

    # --- Kafka: subscription, polling, offsets ----------------------------------------

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self.kafka_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._batch_size,
            isolation_level="read_committed",
        )

    async def start(self) -> None:
        consumer = self._new_consumer()
        consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))  # type: ignore[arg-type]
        await consumer.start()
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self.commit_done()
            await self._consumer.stop()
            self._consumer = None

    async def run(self, stop: asyncio.Event) -> None:
        if self._consumer is None:
            await self.start()
        try:
            while not stop.is_set():
                await self.poll_once(timeout_ms=500)
        finally:
            await self.stop()

    async def poll_once(self, timeout_ms: int = 500) -> int:
        """Fetch one bounded batch, apply it, commit offsets. Returns records handled."""
        assert self._consumer is not None, "start() first"
        batch = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=self._batch_size)
        if not batch:
            return 0
        async with self._lock:
            await asyncio.gather(*(self._handle_partition(tp, recs) for tp, recs in batch.items()))
            await self._commit_done_locked()
        self._record_lag(list(batch))
        return sum(len(r) for r in batch.values())

    async def commit_done(self) -> None:
        async with self._lock:
            await self._commit_done_locked()

    async def _commit_done_locked(self) -> None:
        if self._done and self._consumer is not None:
            offsets, self._done = self._done, {}
            await self._consumer.commit(offsets)

    def _mark_done(self, tp: TopicPartition, record: ConsumerRecord) -> None:
        self._done[tp] = self._positions[tp] = record.offset + 1

    def _record_lag(self, partitions: list[TopicPartition]) -> None:
        assert self._consumer is not None
        for tp in partitions:
            high = self._consumer.highwater(tp)
            position = self._positions.get(tp)
            if high is not None and position is not None:
                CONSUMER_LAG.labels(self.group, tp.topic, tp.partition).set(max(high - position, 0))

    # --- a partition's records, in order ----------------------------------------------

    def unknown_version(self, event_type: str) -> str | None:
        """Why ``event_type`` is refused, if it is a version of a handled type not handled."""
        return self._table.unknown_version(event_type)

    async def _handle_partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        pending = Pending()
        for record in records:
            event = decode(record)
            handler = None if isinstance(event, MalformedEvent) else self._table.get(event.type)
            if isinstance(handler, Batchable) and isinstance(event, CloudEvent):
                pending.items.append((record, event, handler))
                continue
            if (
                handler is None
                and isinstance(event, CloudEvent)
                and self._table.ignores(event.type)
            ):
                # a type this service does not act on: no effect, so it does not end a run
                EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
                if not pending.items:
                    self._mark_done(tp, record)
                continue
            await self._flush(tp, pending)
            await self._handle_decoded(record, event)
            self._mark_done(tp, record)
        await self._flush(tp, pending)
        if records:  # every record is handled now, ignored ones after the last run included
            self._mark_done(tp, records[-1])

    async def _flush(self, tp: TopicPartition, pending: Pending) -> None:
        """Apply a pending run in one transaction; one by one if the batch fails."""
        items = pending.take()
        if not items:
            return
        if len(items) == 1:
            await self.handle_event(items[0][0], items[0][1])
        else:
            events = [event for _, event, _ in items]
            try:
                applied = await apply_many_retrying(
                    self._uow_factory, self.group, self._retry, run_of(items), events
                )
                for event in events:
                    outcome = "applied" if event.id in applied else "duplicate"
                    EVENTS_CONSUMED.labels(self.group, event.type, outcome).inc()
            except OneByOne:
                for record, event, _ in items:
                    await self.handle_event(record, event)
        self._mark_done(tp, items[-1][0])

    # --- one event ----------------------------------------------------------------------

    async def handle_record(self, record: ConsumerRecord) -> None:
        await self._handle_decoded(record, decode(record))

    async def _handle_decoded(
        self, record: ConsumerRecord, event: CloudEvent | MalformedEvent
    ) -> None:
        if isinstance(event, MalformedEvent):
            await self.dead_letter(record, event, attempts=1)
        else:
            await self.handle_event(record, event)

    async def handle_event(self, record: ConsumerRecord, event: CloudEvent) -> None:
        handler = self._table.get(event.type)
        replayed = header_value(list(record.headers), H_REPLAYED_FROM) is not None
        with structlog.contextvars.bound_contextvars(event_id=event.id, event_type=event.type):
            if handler is None:
                version, kind = self._table.unknown_version(event.type), None
                if version is None:
                    kind = self._table.unknown_type(event.type)
                if version is not None:  # parks the key: a newer producer's event
                    await self.reject(record, event, UnknownEventVersion(version), 1, replayed)
                elif kind is not None:  # not an event of the platform: the key goes on
                    await self.reject(record, event, UnknownEventType(kind), 1, replayed)
                else:  # tolerant reader: catalogued types this service does not act on
                    EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
                return
            await self._apply_retrying(record, event, handler, replayed)

    async def _apply_retrying(
        self, record: ConsumerRecord, event: CloudEvent, handler: Handler[U], replayed: bool
    ) -> None:
        try:
            applied = await retry(
                partial(self.apply, handler, event, replayed=replayed),
                policy=self._retry,
                what="handler",
                final=(KeyParked, MalformedEvent, RejectedEvent),
                database_reachable=partial(database_reachable, self._uow_factory),
            )
        except GaveUp as stop:
            exc = stop.error
            if isinstance(exc, KeyParked):
                EVENTS_CONSUMED.labels(self.group, event.type, "parked").inc()
                await self._dead_letters.behind_parked_key(
                    record, event, exc.key, exc, stop.tries, replayed
                )
            else:
                await self.reject(record, event, exc, stop.tries, replayed)
            return
        outcome = "applied" if applied else "duplicate"
        EVENTS_CONSUMED.labels(self.group, event.type, outcome).inc()

    async def apply(
        self, handler: Handler[U], event: CloudEvent, *, replayed: bool = False
    ) -> bool:
        """Record the event id and apply the effect in one transaction. False if seen before.
        Raises ``KeyParked`` (recording nothing) if the event must wait behind its key."""
        return await apply_one(self._uow_factory, self.group, handler, event, replayed=replayed)

    async def apply_batch(self, batch: Batchable[U], events: list[CloudEvent]) -> set[str] | None:
        """Record the events' ids and apply the first-seen ones in one transaction (None,
        recording nothing, if a key of the batch is parked)."""
        return await apply_many(self._uow_factory, self.group, batch, events)

    # --- dead letters -------------------------------------------------------------------

    async def reject(
        self,
        record: ConsumerRecord,
        event: CloudEvent,
        exc: BaseException,
        attempts: int,
        replayed: bool,
    ) -> None:
        """Dead-letter an event that failed for good and park its key behind it (not for a
        handler's ``RejectedEvent``): see :meth:`DeadLetterer.reject`."""
        await self._dead_letters.reject(record, event, exc, attempts, replayed)

    async def dead_letter(self, record: ConsumerRecord, exc: BaseException, attempts: int) -> None:
        await self._dead_letters.send(record, exc, attempts)
