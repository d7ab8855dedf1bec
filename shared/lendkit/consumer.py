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
partition's order is kept. If the batch fails for a reason that is not transient, or one
of its keys is parked, it is rolled back and its events are applied one by one (each in
its own transaction, through the same ``Batchable`` with a list of one), so a poison
event is isolated and dead-lettered while the others are applied. Offsets are committed
only after the database commits, as for single events.

Failures (:mod:`lendkit.failures` classifies them):

- An event that can never pass (not a valid CloudEvent, a payload that does not fit its
  type, an unknown version of a handled type, a handler's ``RejectedEvent``) goes to the
  dead-letter topic at once, with the reason.
- A transient failure (SQLSTATE of a failover, deadlock, serialization failure, lost
  connection, pool timeout) is retried with capped, jittered exponential backoff; any
  other error up to ``max_attempts`` times. Either way one event is retried for at most
  ``RetryPolicy.key_budget_ms``: then it is dead-lettered, so the other keys of its
  partition wait no longer than that. Only if the database itself is unreachable does a
  transient failure keep being retried past the budget (every key is blocked then, and
  dead-lettering good events would only lose their order).
- A dead-lettered event parks its key (:mod:`lendkit.parked_keys`): the key's later events
  are dead-lettered behind it, in order, until a replay applies them in order. A handler's
  ``RejectedEvent`` is the exception: the handler decided the event never has an effect,
  so nothing can overtake it and the key goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar, cast

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.db import UnitOfWork
from lendkit.dead_letters import (
    H_REPLAYED_FROM,
    dead_letter_headers,
    dead_letter_topic,
    header_value,
)
from lendkit.errors import ServiceError
from lendkit.events.envelope import CloudEvent, MalformedEvent
from lendkit.failures import RejectedEvent, RetryPolicy, UnknownEventVersion, is_transient
from lendkit.logging import get_logger
from lendkit.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED, PARKED_KEYS
from lendkit.parked_keys import (
    RECORD_MANY,
    RECORD_ONE,
    KeyParked,
    KeyState,
    park,
    park_behind,
    release_after,
)

__all__ = [
    "Batchable",
    "IdempotentConsumer",
    "RejectedEvent",
    "RetryPolicy",
    "is_transient",
    "rejecting",
]

log = get_logger(__name__)

U = TypeVar("U", bound=UnitOfWork)
Handler = Callable[[U, CloudEvent], Awaitable[None]]
BatchFunction = Callable[[U, list[CloudEvent]], Awaitable[None]]

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def rejecting(*refusals: type[BaseException]) -> Callable[[F], F]:
    """A consumer handler (or batch function) whose ``refusals`` mean "this event can never
    have an effect": they become :class:`RejectedEvent` (dead letter with the reason, the key
    goes on). Without arguments, every ``lendkit.errors.ServiceError``."""
    caught: tuple[type[BaseException], ...] = refusals or (ServiceError,)

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        async def handle(*args: Any, **kwargs: Any) -> None:
            try:
                await handler(*args, **kwargs)
            except RejectedEvent:
                raise
            except caught as exc:
                raise RejectedEvent(f"{type(exc).__name__}: {exc}") from exc

        return cast(F, handle)

    return wrap


_VERSION = re.compile(r"^(?P<base>.+)\.v(?P<n>\d+)$")


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


class _OneByOne(Exception):
    """The batch cannot be applied as one: apply its events one at a time."""


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
        self._versions: dict[str, list[str]] = {}  # base type -> the versions handled
        for event_type in self._handlers:
            if match := _VERSION.match(event_type):
                self._versions.setdefault(match["base"], []).append(event_type)
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

    def unknown_version(self, event_type: str) -> str | None:
        """Why ``event_type`` is refused, if it is a version of a handled type not handled."""
        match = _VERSION.match(event_type)
        known = self._versions.get(match["base"]) if match else None
        if not known or event_type in self._handlers:
            return None
        return f"unknown version {event_type}: this consumer handles {', '.join(sorted(known))}"

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
            if (
                handler is None
                and isinstance(event, CloudEvent)
                and self.unknown_version(event.type) is None
            ):
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
            try:
                applied = await self._apply_batch_retrying(batch, events)
                for event in events:
                    outcome = "applied" if event.id in applied else "duplicate"
                    EVENTS_CONSUMED.labels(self.group, event.type, outcome).inc()
            except _OneByOne:
                for record, event in items:
                    await self.handle_event(record, event)
        self._done[tp] = self._positions[tp] = items[-1][0].offset + 1

    async def _apply_batch_retrying(
        self, batch: Batchable[U], events: list[CloudEvent]
    ) -> set[str]:
        """The batch in one transaction, transient failures retried within the key budget;
        raises ``_OneByOne`` when its events must be applied one at a time instead."""
        started = time.monotonic()
        tries = 0
        while True:
            tries += 1
            try:
                applied = await self.apply_batch(batch, events)
            except Exception as exc:
                if not is_transient(exc):
                    log.warning(
                        "batch failed; applying its events one by one",
                        error=repr(exc),
                        events=len(events),
                    )
                    raise _OneByOne from exc
                delay = self._retry.delay(tries)
                if self._out_of_budget(started, delay) and await self._database_reachable():
                    log.warning("transient batch failure beyond the key budget; one by one")
                    raise _OneByOne from exc
                log.warning("transient error in batch; retrying", error=repr(exc), tries=tries)
                await asyncio.sleep(delay)
                continue
            if applied is None:
                raise _OneByOne  # a key of the batch is parked
            return applied

    async def apply_batch(self, batch: Batchable[U], events: list[CloudEvent]) -> set[str] | None:
        """Record the events' ids and apply the first-seen ones in one transaction.
        Returns the ids applied now (the others were seen before, or earlier in the batch),
        or None, recording nothing, if a key of the batch is parked."""
        first_seen: dict[str, CloudEvent] = {}
        for event in events:
            first_seen.setdefault(event.id, event)
        async with self._uow_factory() as uow:
            result = await uow.session.execute(
                RECORD_MANY,
                {
                    "group": self.group,
                    "ids": list(first_seen),
                    "types": [e.type for e in first_seen.values()],
                    "keys": list({e.key for e in first_seen.values() if e.key is not None}),
                },
            )
            rows = result.all()
            if rows and rows[-1].parked:
                return None
            new_ids = {row.event_id for row in rows}
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
        replayed = header_value(list(record.headers), H_REPLAYED_FROM) is not None
        with structlog.contextvars.bound_contextvars(event_id=event.id, event_type=event.type):
            if handler is None:
                refused = self.unknown_version(event.type)
                if refused is None:  # tolerant reader: types this service does not act on
                    EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
                else:
                    await self.reject(record, event, UnknownEventVersion(refused), 1, replayed)
                return
            await self._apply_retrying(record, event, handler, replayed)

    async def _apply_retrying(
        self, record: ConsumerRecord, event: CloudEvent, handler: Handler[U], replayed: bool
    ) -> None:
        started = time.monotonic()
        tries = failures = 0
        confirmed_reachable = False
        while True:
            tries += 1
            try:
                applied = await self.apply(handler, event, replayed=replayed)
                outcome = "applied" if applied else "duplicate"
                EVENTS_CONSUMED.labels(self.group, event.type, outcome).inc()
                return
            except KeyParked as exc:
                if not replayed:
                    await self._in_own_transaction(
                        partial(park_behind, group=self.group, key=exc.key, event_id=event.id)
                    )
                EVENTS_CONSUMED.labels(self.group, event.type, "parked").inc()
                await self.dead_letter(record, exc, attempts=tries)
                return
            except (MalformedEvent, RejectedEvent) as exc:
                await self.reject(record, event, exc, tries, replayed)
                return
            except Exception as exc:
                transient = is_transient(exc)
                failures += 0 if transient else 1
                delay = self._retry.delay(tries)
                exhausted = not transient and failures >= self._retry.max_attempts
                if exhausted or self._out_of_budget(started, delay):
                    if transient and not confirmed_reachable:
                        # Past the budget: dead-letter only if the failure is this event's,
                        # not the database's (then every key waits, and parking is no help).
                        confirmed_reachable = await self._database_reachable()
                        if confirmed_reachable:
                            continue  # the database is back: one more try at once
                    else:
                        await self.reject(record, event, exc, tries, replayed)
                        return
                log.warning("handler failed; retrying", error=repr(exc), tries=tries)
                await asyncio.sleep(delay)

    def _out_of_budget(self, started: float, delay: float) -> bool:
        return time.monotonic() - started + delay > self._retry.key_budget_ms / 1000.0

    async def _database_reachable(self) -> bool:
        try:
            async with self._uow_factory() as uow:
                await uow.session.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            log.warning("database unreachable; transient retries continue", error=repr(exc))
            return False

    async def apply(
        self, handler: Handler[U], event: CloudEvent, *, replayed: bool = False
    ) -> bool:
        """Record the event id and apply the effect in one transaction. False if seen before.
        Raises ``KeyParked`` (recording nothing) if the event must wait behind its key."""
        async with self._uow_factory() as uow:
            row = (
                await uow.session.execute(
                    RECORD_ONE,
                    {"group": self.group, "id": event.id, "type": event.type, "key": event.key},
                )
            ).one()
            if not row.first:
                return False
            state = KeyState(row.blocked_by, row.last_parked) if row.parked else None
            parked = state is not None and event.key is not None
            if parked and state is not None and not state.lets_through(event.id, replayed):
                raise KeyParked(str(event.key), state.blocked_by)
            await handler(uow, event)
            if parked and state is not None and event.key is not None:
                await release_after(
                    uow.session, group=self.group, key=event.key, state=state, event_id=event.id
                )
            await uow.commit()
            return True

    async def reject(
        self,
        record: ConsumerRecord,
        event: CloudEvent,
        exc: BaseException,
        attempts: int,
        replayed: bool,
    ) -> None:
        """Dead-letter an event that failed for good and park its key behind it.

        A handler's ``RejectedEvent`` does not park its key: it is the handler's decision
        that the event has no effect, ever (a waiver that cannot apply, a refused policy),
        so the key's later events lose no order by being applied. What may yet apply (an
        unknown version, a payload a fixed producer will send again, an event out of
        retries) parks the key, so nothing of that key overtakes it.
        """
        key = event.key
        if key is not None and not isinstance(exc, RejectedEvent):
            reason = str(exc) or repr(exc)
            await self._in_own_transaction(
                partial(
                    park,
                    group=self.group,
                    key=key,
                    event_id=event.id,
                    reason=reason,
                    replayed=replayed,
                )
            )
            PARKED_KEYS.labels(self.group).inc()
        await self.dead_letter(record, exc, attempts=attempts)

    async def _in_own_transaction(self, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Bookkeeping that must land before the dead letter is sent (retried while the
        database is away: the offset is not committed until it has)."""
        tries = 0
        while True:
            tries += 1
            try:
                async with self._uow_factory() as uow:
                    await work(uow.session)
                    await uow.commit()
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("parking a key failed; retrying", error=repr(exc), tries=tries)
                await asyncio.sleep(self._retry.delay(tries))

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
