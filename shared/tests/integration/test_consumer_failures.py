"""What the consumer does with failures: the right ones dead-lettered at once, transient ones
retried with growing delays, one loan's trouble kept to that loan, and replays that end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.consumer import Batchable, IdempotentConsumer, RejectedEvent, RetryPolicy
from lendkit.db import UnitOfWork, driver_connection
from lendkit.dead_letters import H_REASON, H_REPLAYS, header_value, replay
from lendkit.events import CloudEvent, new_event
from lendkit.kit_tables import parked_keys
from lendkit.testing import KAFKA, create_topics, eventually, unique

from .conftest import LoanTouched
from .test_idempotent_consumer import effect_rows, read_dead_letters, record_effect, send

TOUCHED = "kittest.loan.touched.v1"


@dataclass
class Faults:
    """Per loan: the errors its next applications raise, in order (None: apply)."""

    plan: dict[str, list[BaseException | None]] = field(default_factory=dict)
    always: dict[str, BaseException] = field(default_factory=dict)
    #: when each loan's first ``always`` failure was raised (``time.monotonic``)
    first_failure: dict[str, float] = field(default_factory=dict)

    async def before_apply(self, uow: UnitOfWork, loan_id: str) -> None:
        if loan_id in self.always:
            self.first_failure.setdefault(loan_id, time.monotonic())
            raise self.always[loan_id]
        planned = self.plan.get(loan_id)
        fault = planned.pop(0) if planned else None
        if isinstance(fault, _TerminateBackend):
            # a real failover as the consumer sees it: PostgreSQL ends the session (57P01)
            raw = await driver_connection(uow.session)
            await raw.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        elif fault is not None:
            raise fault


class _TerminateBackend(Exception):
    pass


FAULTS = Faults()


async def faulty_effect(uow: UnitOfWork, event: CloudEvent) -> None:
    await FAULTS.before_apply(uow, event.payload(LoanTouched).loan_id)
    await record_effect(uow, event)


async def faulty_many(uow: UnitOfWork, events: list[CloudEvent]) -> None:
    for event in events:
        await faulty_effect(uow, event)


@dataclass(frozen=True)
class RecordingPolicy(RetryPolicy):
    """Notes which retry each delay was asked for."""

    asked: list[int] = field(default_factory=list, compare=False, hash=False)

    def delay(self, attempt: int) -> float:
        self.asked.append(attempt)
        return super().delay(attempt)


def consumer(
    topic: str,
    group: str,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    retry: RetryPolicy,
    batch: bool = False,
) -> IdempotentConsumer[UnitOfWork]:
    handler = Batchable(faulty_many) if batch else faulty_effect
    return IdempotentConsumer(
        bootstrap_servers=KAFKA,
        group=group,
        topics=[topic],
        handlers={TOUCHED: handler},
        uow_factory=uow_factory,
        producer=producer,
        batch_size=50,
        retry=retry,
    )


def touched(loan_id: str, seq: int) -> CloudEvent:
    return new_event(LoanTouched(loan_id=loan_id, seq=seq), source="kit-test")


@pytest.fixture
async def one_partition() -> tuple[str, str]:
    """A topic of one partition: every loan's events share it, as loans do in production."""
    topic, group = unique("kit-fail"), unique("kit-fail-group")
    await create_topics(topic, partitions=1)
    await create_topics(group + ".dlt", partitions=1)
    FAULTS.plan.clear()
    FAULTS.always.clear()
    FAULTS.first_failure.clear()
    return topic, group


async def poll_until(c: IdempotentConsumer[UnitOfWork], done: Callable[[], object]) -> None:
    async def check() -> object:
        await c.poll_once(timeout_ms=200)
        result = done()
        return await result if asyncio.iscoroutine(result) else result

    await eventually(check, timeout=60)


async def test_unknown_version_of_a_handled_type_is_dead_lettered_with_the_reason(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    one_partition: tuple[str, str],
) -> None:
    topic, group = one_partition
    newer = touched("L-v2", 1)
    newer = CloudEvent(**{**newer.__dict__, "type": "kittest.loan.touched.v2"})
    await send(producer, topic, newer)
    await send(producer, topic, touched("L-v1", 1))
    c = consumer(topic, group, uow_factory, producer, RetryPolicy(backoff_ms=10))
    await c.start()
    try:
        await poll_until(c, lambda: effect_rows(engine))
    finally:
        await c.stop()
    parked = await read_dead_letters(group + ".dlt", 1)
    assert await effect_rows(engine) == [("L-v1", 1)]
    assert len(parked) == 1
    reason = header_value(parked[0][1], H_REASON) or ""
    assert "unknown version kittest.loan.touched.v2" in reason
    assert "kittest.loan.touched.v1" in reason


async def test_database_failover_errors_are_retried_with_growing_delays_not_dead_lettered(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    one_partition: tuple[str, str],
) -> None:
    topic, group = one_partition
    FAULTS.plan.update(
        {
            "L-admin-shutdown": [_TerminateBackend(), _TerminateBackend(), _TerminateBackend()],
            "L-pool-timeout": [PoolTimeout("QueuePool limit reached, connection timed out")],
            "L-serialization": [asyncpg.exceptions.SerializationError("could not serialize")],
            "L-deadlock": [asyncpg.exceptions.DeadlockDetectedError("deadlock detected")],
            "L-too-many": [asyncpg.exceptions.TooManyConnectionsError("too many clients")],
            "L-cannot-connect": [asyncpg.exceptions.CannotConnectNowError("starting up")],
            "L-lost": [asyncpg.exceptions.ConnectionDoesNotExistError("connection lost")],
        }
    )
    loans = list(FAULTS.plan)
    for loan in loans:
        await send(producer, topic, touched(loan, 1))
    # one attempt for errors of the event itself: only a transient classification retries
    policy = RecordingPolicy(max_attempts=1, backoff_ms=5, backoff_max_ms=40, key_budget_ms=60_000)
    c = consumer(topic, group, uow_factory, producer, policy)
    await c.start()
    try:
        await poll_until(c, lambda: _count(engine, len(loans)))
    finally:
        await c.stop()
    assert sorted(await effect_rows(engine)) == sorted((loan, 1) for loan in loans)
    assert await read_dead_letters(group + ".dlt", 1) == []
    assert max(policy.asked) == 3, "the third retry of one event waits longer than the first"


async def _count(engine: AsyncEngine, n: int) -> bool:
    return len(await effect_rows(engine)) >= n


def test_retry_delays_grow_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(backoff_ms=100, backoff_max_ms=1_000)
    # ceilings 0.1, 0.2, 0.4, 0.8, then the 1.0 s cap; each delay in [ceiling / 2, ceiling]
    assert [policy.ceiling(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    for n in range(1, 40):
        assert policy.ceiling(n) / 2 <= policy.delay(n) <= policy.ceiling(n)
    assert len({policy.delay(4) for _ in range(20)}) > 1, "jittered"


@pytest.mark.parametrize("batch", [False, True], ids=["one-by-one", "batch"])
async def test_one_loans_failures_hold_other_loans_on_its_partition_only_within_the_bound(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    one_partition: tuple[str, str],
    batch: bool,
) -> None:
    topic, group = one_partition
    budget_ms = 1_000
    # L-stuck fails transiently for ever (a deadlock on its rows, as SQLAlchemy reports it)
    FAULTS.always["L-stuck"] = OperationalError(
        "UPDATE loans ...", {}, asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
    )
    stuck = [touched("L-stuck", 1), touched("L-stuck", 2)]
    await send(producer, topic, stuck[0])
    await send(producer, topic, touched("L-free", 1))
    await send(producer, topic, stuck[1])
    await send(producer, topic, touched("L-free", 2))
    policy = RetryPolicy(max_attempts=5, backoff_ms=20, backoff_max_ms=200, key_budget_ms=budget_ms)
    c = consumer(topic, group, uow_factory, producer, policy, batch=batch)
    await c.start()
    try:
        await poll_until(c, lambda: _count(engine, 2))
        # Measured from the stuck loan's first failure (not from the consumer's start, so
        # joining the group is not counted) until the other loan's events are applied.
        elapsed = time.monotonic() - FAULTS.first_failure["L-stuck"]
        # The bound: the key budget (twice in batch mode: the batch's tries, then the
        # stuck event's own), plus slack for a busy machine.
        bound = (2 if batch else 1) * budget_ms / 1000 + 3.0
        assert elapsed < bound, f"the other loan waited {elapsed:.1f} s (bound {bound:.1f} s)"
        assert await effect_rows(engine) == [("L-free", 1), ("L-free", 2)]

        dead = await read_dead_letters(group + ".dlt", 2)
        reasons = [header_value(h, H_REASON) or "" for _, h in dead]
        assert "deadlock detected" in reasons[0]
        assert reasons[1] == f"key parked behind {stuck[0].id}", "later events wait, in order"

        # a live event of the parked loan waits behind the others
        stuck.append(touched("L-stuck", 3))
        await send(producer, topic, stuck[2])
        await poll_until(c, lambda: _dead_letters(group, 3))

        # the cause goes away; ops replays: the loan's events are applied in their order
        del FAULTS.always["L-stuck"]
        assert (await replay(KAFKA, group)).replayed == 3
        await poll_until(c, lambda: _count(engine, 5))
        assert [s for loan, s in await effect_rows(engine) if loan == "L-stuck"] == [1, 2, 3]
        assert await _parked(engine) == [], "the loan is free again"

        await send(producer, topic, touched("L-stuck", 4))
        await poll_until(c, lambda: _count(engine, 6))
    finally:
        await c.stop()
    assert [s for loan, s in await effect_rows(engine) if loan == "L-stuck"] == [1, 2, 3, 4]


async def _dead_letters(group: str, n: int) -> bool:
    return len(await read_dead_letters(group + ".dlt", n)) >= n


async def _parked(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list(await conn.scalars(select(parked_keys.c.message_key)))


async def test_replay_of_a_message_that_keeps_failing_ends_and_parks_it(
    engine: AsyncEngine,
    uow_factory: Callable[[], UnitOfWork],
    producer: AIOKafkaProducer,
    one_partition: tuple[str, str],
) -> None:
    topic, group = one_partition
    FAULTS.always["L-bounce"] = RejectedEvent("this loan's event can never be applied")
    await send(producer, topic, touched("L-bounce", 1))
    stop = asyncio.Event()
    running = asyncio.create_task(
        consumer(topic, group, uow_factory, producer, RetryPolicy(backoff_ms=10)).run(stop)
    )
    try:
        await eventually(lambda: _dead_letters(group, 1), timeout=30)
        # The consumer runs on while replaying: what it dead-letters again is not read back
        # by the same run (the end offsets are taken at its start).
        first = await asyncio.wait_for(replay(KAFKA, group, idle_timeout_ms=1000), 30)
        assert (first.replayed, first.skipped) == (1, 0)
        await eventually(lambda: _dead_letters(group, 2), timeout=30)

        # failed again after a replay: parked, not replayed by default
        again = await asyncio.wait_for(replay(KAFKA, group, idle_timeout_ms=1000), 30)
        assert (again.replayed, again.skipped) == (0, 1)

        # explicitly replayed once more: ends, and counts the replays in a lasting header
        explicit = await asyncio.wait_for(
            replay(KAFKA, group, parked=True, idle_timeout_ms=1000), 30
        )
        assert explicit.replayed == 1
        await eventually(lambda: _dead_letters(group, 3), timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    dead = await read_dead_letters(group + ".dlt", 3)
    assert [header_value(h, H_REPLAYS) for _, h in dead] == [None, "1", "2"]
    assert await effect_rows(engine) == []
