"""How the kit tells a failure that will pass from one that never will, and how it waits.

A consumer retries a *transient* failure (the database or the network is away for a
moment) and dead-letters a *permanent* one (the event can never be applied). PostgreSQL
says which is which in its SQLSTATE, whichever layer raised the error: asyncpg directly
(batch handlers use the driver connection), SQLAlchemy wrapping asyncpg, or the pool.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

T = TypeVar("T")

#: SQLSTATEs that mean "try again": the statement was fine, the moment was not.
TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "57P01",  # admin_shutdown (failover, restart)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, recovering)
        "53300",  # too_many_connections
    }
)
#: SQLSTATE class 08: connection exceptions (lost, refused, never established).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08"})


class RejectedEvent(Exception):
    """A handler's verdict that this event can never be applied (e.g. unknown loan state)."""


class UnknownEventVersion(Exception):
    """A version of a handled event type this service does not know (a newer producer).

    Not a ``RejectedEvent``: it may yet apply, once the service learns the version and the
    dead letter is replayed, so its key is parked behind it (the key's later events must
    not overtake it). It used to be a ``RejectedEvent``, which let them overtake it (found
    by the consumer contract's poison case).
    """


class UnknownEventType(RejectedEvent):
    """A type no contract of the platform's catalogue defines: not an event of ours (a
    misconfigured producer, a typo). Dead-lettered with the reason; its key goes on, since
    nothing of the platform can ever apply it."""


class MisroutedEvent(RejectedEvent):
    """A record whose key is not its payload's key field (the loan id): it travelled on
    another loan's partition, so it cannot be applied in that loan's order. Dead-lettered
    with the reason; the record's key goes on (the event is not one of that key's)."""


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE behind ``exc``: its own, its DBAPI original's, or its cause's."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(code, str) and code:
            return code
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return None


#: SQLSTATEs of two transactions colliding: the database rolled this one back so the other
#: could go on, and the same work run again in a fresh transaction normally succeeds.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def is_concurrency_conflict(exc: BaseException) -> bool:
    """True if ``exc`` is a deadlock or a serialization failure: re-run the transaction."""
    return sqlstate(exc) in CONFLICT_SQLSTATES


async def rerun_on_conflict(
    work: Callable[[], Awaitable[T]], *, attempts: int = 4, first_wait: float = 0.02
) -> T:
    """Run ``work`` (one whole transaction: it opens, does and commits everything) again
    when the database aborted it as a deadlock or a serialization failure, up to
    ``attempts`` times in all, waiting a random, growing moment between runs (so two
    colliding transactions do not collide again in step). Any other failure, and the last
    conflict, propagate."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_concurrency_conflict),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=first_wait, max=1.0),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await work()
    raise AssertionError("unreachable: tenacity reraises the last failure")


def is_transient(exc: BaseException) -> bool:
    """True if retrying the same work later can succeed (infrastructure, not the event)."""
    code = sqlstate(exc)
    if code is not None:
        return code in TRANSIENT_SQLSTATES or code[:2] in TRANSIENT_SQLSTATE_CLASSES
    if isinstance(exc, PoolTimeout | OperationalError | InterfaceError):
        return True  # the pool timed out, or the connection went away under SQLAlchemy
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    if _is_asyncpg_connection_error(exc):
        return True
    return isinstance(exc, OSError)  # ConnectionError, TimeoutError, refused sockets


def _is_asyncpg_connection_error(exc: BaseException) -> bool:
    """asyncpg's "connection is closed" / "another operation in progress" errors carry no
    SQLSTATE; they are ``asyncpg.InterfaceError`` (imported lazily: asyncpg is untyped)."""
    import asyncpg

    return isinstance(exc, asyncpg.InterfaceError | asyncpg.PostgresConnectionError)


def is_refused_by_broker(exc: BaseException) -> bool:
    """True if Kafka refused the records for good (too large, invalid topic, not
    authorised): sending them again cannot succeed. Timeouts and lost connections can."""
    from aiokafka.errors import KafkaError, KafkaTimeoutError

    if isinstance(exc, KafkaError):
        return not exc.retriable and not isinstance(exc, KafkaTimeoutError)
    return isinstance(exc, RecordTooLarge)


class RecordTooLarge(ValueError):
    """A record that cannot fit in a record batch (the producer's ``max_batch_size``)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap and jitter.

    ``delay(n)`` for the n-th retry is drawn from [d/2, d] where d = min(backoff_ms * 2^(n-1),
    backoff_max_ms): it grows with n until the cap, and retries of many consumers after one
    failover do not all arrive at once. ``key_budget_ms`` bounds how long one event may be
    retried before its key is parked, so it never holds up the other keys of its partition
    for longer (see :mod:`lendkit.consumer`).
    """

    max_attempts: int = 5
    backoff_ms: int = 200
    backoff_max_ms: int = 10_000
    key_budget_ms: int = 5_000

    def ceiling(self, attempt: int) -> float:
        """The longest delay before retry ``attempt`` (1-based), in seconds."""
        exponent = min(max(attempt, 1) - 1, 32)
        return float(min(self.backoff_ms * 2**exponent, self.backoff_max_ms)) / 1000.0

    def delay(self, attempt: int) -> float:
        ceiling = self.ceiling(attempt)
        return ceiling / 2 + random.uniform(0.0, ceiling / 2)  # noqa: S311 (jitter, not a secret)
