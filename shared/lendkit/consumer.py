"""The idempotent consumer: at-least-once delivery, effects exactly once.

For each record: decode the CloudEvent; in one database transaction record the event
id as processed for this consumer group and apply the handler's effect; commit; then
commit the Kafka offset. A redelivered event finds its id already recorded and does
nothing. Records of one partition are handled in order (one loan's events stay
ordered); partitions of a batch are handled concurrently.

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
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition
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
        for record in records:
            await self.handle_record(record)
            self._done[tp] = self._positions[tp] = record.offset + 1

    async def handle_record(self, record: ConsumerRecord) -> None:
        try:
            event = CloudEvent.from_kafka(
                record.topic, record.key, record.value, list(record.headers), record.partition
            )
        except MalformedEvent as exc:
            await self.dead_letter(record, exc, attempts=1)
            return
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
