"""The idempotent consumer: at-least-once delivery, effects exactly once.

For each record: decode the CloudEvent; in one database transaction record the event
id as processed for this consumer group and apply the handler's effect; commit; then
commit the Kafka offset. A redelivered event finds its id already recorded and does
nothing. Records of one partition are handled in order (one loan's events stay
ordered); partitions of a batch are handled concurrently.

Batch mode (optional): a handler wrapped in :class:`Batchable` can also apply a run of
events at once. A partition's consecutive records handled by the same ``Batchable`` are
applied in ONE transaction (records of types the consumer ignores have no effect, so
they do not end a run): their ids go into ``processed_events`` with one statement
(``ON CONFLICT DO NOTHING RETURNING``) and the batch function gets only the first-seen
events, in partition order. Any other record in between flushes the run first, so a
partition's order is kept. If the batch fails for a reason that is not transient, it is
rolled back and its events are applied one by one (each in its own transaction, through
the same ``Batchable`` with a list of one), so a poison event is isolated and
dead-lettered while the others are applied. Offsets are committed only after the
database commits, as for single events.

Failures: a record that is not a valid CloudEvent, or whose payload does not fit its
type, or that a handler rejects (``RejectedEvent``) goes straight to the dead-letter
topic. Other errors are retried with exponential backoff, ``max_attempts`` times, then
dead-lettered. Transient infrastructure errors (database or network away) are retried
until they pass: parking a good message because the database restarted would lose
ordering for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from lendkit.db import UnitOfWork
from lendkit.dead_letters import dead_letter_headers, dead_letter_topic
from lendkit.events.envelope import CloudEvent, MalformedEvent
from lendkit.logging import get_logger
from lendkit.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED
from lendkit.tables import processed_events

log = get_logger(__name__)

U = TypeVar("U", bound=UnitOfWork)
Handler = Callable[[U, CloudEvent], Awaitable[None]]
BatchFunction = Callable[[U, list[CloudEvent]], Awaitable[None]]

_RECORD_MANY = text(
    """
    INSERT INTO processed_events (consumer_group, event_id, event_type)
    SELECT CAST(:group AS text), u.event_id, u.event_type
    FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[])) AS u(event_id, event_type)
    ON CONFLICT DO NOTHING
    RETURNING event_id
    """
)

_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P03"}


class RejectedEvent(Exception):
    """A handler's verdict that this event can never be applied (e.g. unknown loan state)."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return code in _RETRYABLE_SQLSTATES or bool(exc.connection_invalidated)
    return isinstance(exc, OSError)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_ms: int = 200
    backoff_max_ms: int = 10_000

    def delay(self, attempt: int) -> float:
        return float(min(self.backoff_ms * 2 ** (attempt - 1), self.backoff_max_ms)) / 1000.0


class Batchable(Generic[U]):
    """A handler that can also apply many events in one transaction.

    Registered like any handler (it is callable with one event). ``many(uow, events)``
    receives first-seen events only, in partition order, and must give each the same
    effect as applying them one at a time.
    """

    def __init__(self, many: BatchFunction[U]) -> None:
        self.many = many

    async def __call__(self, uow: U, event: CloudEvent) -> None:
        await self.many(uow, [event])


@dataclass
class _Pending:
    """A run of consecutive records of one partition for one ``Batchable``."""

    batch: Batchable[Any] | None = None
    items: list[tuple[ConsumerRecord, CloudEvent]] = field(default_factory=list)


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
        self.topics = [topic_namespace + t for t in topics]
        self.dead_letter_topic = topic_namespace + dead_letter_topic(group)
        self._bootstrap = bootstrap_servers
        self._handlers = dict(handlers)
        self._uow_factory = uow_factory
        self._producer = producer
        self._batch_size = batch_size
        self._retry = retry or RetryPolicy()
        self._done: dict[TopicPartition, int] = {}  # offsets applied, not yet committed
        self._positions: dict[TopicPartition, int] = {}  # for the lag gauge
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self.group,
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

    async def _handle_partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        pending = _Pending()
        for record in records:
            event = _decode(record)
            handler = None if isinstance(event, MalformedEvent) else self._handlers.get(event.type)
            if isinstance(handler, Batchable) and isinstance(event, CloudEvent):
                if pending.batch is not handler:
                    await self._flush(tp, pending)
                    pending.batch = handler
                pending.items.append((record, event))
                continue
            if handler is None and isinstance(event, CloudEvent):
                # a type this service does not act on: no effect, so it does not end a run
                EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
                if not pending.items:
                    self._done[tp] = self._positions[tp] = record.offset + 1
                continue
            await self._flush(tp, pending)
            if isinstance(event, MalformedEvent):
                await self.dead_letter(record, event, attempts=1)
            else:
                await self.handle_event(record, event)
            self._done[tp] = self._positions[tp] = record.offset + 1
        await self._flush(tp, pending)
        if records:  # every record is handled now, ignored ones after the last run included
            self._done[tp] = self._positions[tp] = records[-1].offset + 1

    async def _flush(self, tp: TopicPartition, pending: _Pending) -> None:
        """Apply a pending run in one transaction; one by one if the batch fails."""
        items, batch = pending.items, pending.batch
        pending.items, pending.batch = [], None
        if not items or batch is None:
            return
        if len(items) == 1:
            await self.handle_event(*items[0])
        else:
            events = [event for _, event in items]
            attempt = 0
            while True:
                attempt += 1
                try:
                    applied = await self.apply_batch(batch, events)
                    for event in events:
                        EVENTS_CONSUMED.labels(
                            self.group,
                            event.type,
                            "applied" if event.id in applied else "duplicate",
                        ).inc()
                    break
                except Exception as exc:
                    if is_transient(exc):
                        log.warning("transient error in batch; retrying", error=repr(exc))
                        await asyncio.sleep(self._retry.delay(min(attempt, 8)))
                        continue
                    log.warning(
                        "batch failed; applying its events one by one",
                        error=repr(exc),
                        events=len(events),
                    )
                    for record, event in items:
                        await self.handle_event(record, event)
                    break
        self._done[tp] = self._positions[tp] = items[-1][0].offset + 1

    async def apply_batch(self, batch: Batchable[U], events: list[CloudEvent]) -> set[str]:
        """Record the events' ids and apply the first-seen ones in one transaction.
        Returns the ids applied now (the others were seen before, or earlier in the batch)."""
        first_seen: dict[str, CloudEvent] = {}
        for event in events:
            first_seen.setdefault(event.id, event)
        async with self._uow_factory() as uow:
            result = await uow.session.execute(
                _RECORD_MANY,
                {
                    "group": self.group,
                    "ids": list(first_seen),
                    "types": [e.type for e in first_seen.values()],
                },
            )
            new_ids = set(result.scalars())
            fresh = [e for e in first_seen.values() if e.id in new_ids]
            if fresh:
                await batch.many(uow, fresh)
            await uow.commit()
            return new_ids

    async def handle_record(self, record: ConsumerRecord) -> None:
        event = _decode(record)
        if isinstance(event, MalformedEvent):
            await self.dead_letter(record, event, attempts=1)
        else:
            await self.handle_event(record, event)

    async def handle_event(self, record: ConsumerRecord, event: CloudEvent) -> None:
        handler = self._handlers.get(event.type)
        if handler is None:  # tolerant reader: types this service does not act on are skipped
            EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
            return
        attempt = 0
        with structlog.contextvars.bound_contextvars(event_id=event.id, event_type=event.type):
            while True:
                attempt += 1
                try:
                    applied = await self.apply(handler, event)
                    EVENTS_CONSUMED.labels(
                        self.group, event.type, "applied" if applied else "duplicate"
                    ).inc()
                    return
                except (MalformedEvent, RejectedEvent) as exc:
                    await self.dead_letter(record, exc, attempts=attempt)
                    return
                except Exception as exc:
                    if is_transient(exc):
                        log.warning("transient error; retrying", error=repr(exc), attempt=attempt)
                        await asyncio.sleep(self._retry.delay(min(attempt, 8)))
                        attempt -= 1  # transient failures do not use up the attempts
                        continue
                    if attempt >= self._retry.max_attempts:
                        await self.dead_letter(record, exc, attempts=attempt)
                        return
                    log.warning("handler failed; retrying", error=repr(exc), attempt=attempt)
                    await asyncio.sleep(self._retry.delay(attempt))

    async def apply(self, handler: Handler[U], event: CloudEvent) -> bool:
        """Record the event id and apply the effect in one transaction. False if seen before."""
        async with self._uow_factory() as uow:
            first = await uow.session.scalar(
                insert(processed_events)
                .values(consumer_group=self.group, event_id=event.id, event_type=event.type)
                .on_conflict_do_nothing()
                .returning(processed_events.c.event_id)
            )
            if first is None:
                return False
            await handler(uow, event)
            await uow.commit()
            return True

    async def dead_letter(self, record: ConsumerRecord, exc: BaseException, attempts: int) -> None:
        topic = self.dead_letter_topic
        headers = dead_letter_headers(
            list(record.headers),
            reason=str(exc) or repr(exc),
            error_type=type(exc).__name__,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self.group,
            attempts=attempts,
        )
        while True:
            try:
                await (
                    await self._producer.send(
                        topic, value=record.value, key=record.key, headers=headers
                    )
                )
                break
            except Exception as send_exc:
                log.warning("dead-letter send failed; retrying", error=repr(send_exc))
                await asyncio.sleep(1.0)
        DEAD_LETTERS.labels(self.group, record.topic, type(exc).__name__).inc()
        log.warning(
            "message dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=str(exc)[:500],
        )

    def _record_lag(self, partitions: list[TopicPartition]) -> None:
        assert self._consumer is not None
        for tp in partitions:
            high = self._consumer.highwater(tp)
            position = self._positions.get(tp)
            if high is not None and position is not None:
                CONSUMER_LAG.labels(self.group, tp.topic, tp.partition).set(max(high - position, 0))


def _decode(record: ConsumerRecord) -> CloudEvent | MalformedEvent:
    """The record's CloudEvent, or why it is not one."""
    try:
        return CloudEvent.from_kafka(
            record.topic, record.key, record.value, list(record.headers), record.partition
        )
    except MalformedEvent as exc:
        return exc
