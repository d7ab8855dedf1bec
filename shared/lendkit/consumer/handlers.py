"""What a consumer calls: handlers, batch handlers, and refusals that mean "never"."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast

from lendkit.db import UnitOfWork
from lendkit.errors import ServiceError
from lendkit.events.envelope import CloudEvent, MalformedEvent
from lendkit.failures import RejectedEvent

U = TypeVar("U", bound=UnitOfWork)
Handler = Callable[[U, CloudEvent], Awaitable[None]]
BatchFunction = Callable[[U, list[CloudEvent]], Awaitable[None]]

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def rejecting(*refusals: type[BaseException]) -> Callable[[F], F]:
    """A consumer handler (or batch function) whose ``refusals`` mean "this event can never
    have an effect": they become :class:`RejectedEvent` (dead letter with the reason, the key
    goes on). Without arguments, every ``lendkit.errors.ServiceError``.

    A malformed payload (``MalformedEvent``, a ``ValueError``) is never turned into a
    refusal, even when ``refusals`` names ``ValueError``: the consumer parks the loan's key
    behind it (a producer's bad record, not a verdict on the event), as for a record that
    fails to decode before any handler runs."""
    caught: tuple[type[BaseException], ...] = refusals or (ServiceError,)

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        async def handle(*args: Any, **kwargs: Any) -> None:
            try:
                await handler(*args, **kwargs)
            except (RejectedEvent, MalformedEvent):
                raise
            except caught as exc:
                raise RejectedEvent(f"{type(exc).__name__}: {exc}") from exc

        return cast(F, handle)

    return wrap


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

    @classmethod
    def each(cls, handler: Handler[U]) -> Batchable[U]:
        """A one-event ``handler`` applied to each event of a run in order, in the run's one
        transaction: the same effects as one transaction per event (each event sees what the
        ones before it wrote), one commit and one ``processed_events`` statement for the run.
        For handlers that only use the unit of work they are given (never one that commits
        on its own); a failing event fails the run, whose events are then applied one by
        one, so the failure (a dead letter, a parked key) stays the event's own."""

        async def many(uow: U, events: list[CloudEvent]) -> None:
            for event in events:
                await handler(uow, event)

        return cls(functools.wraps(handler)(many))
