"""The consumer's transactions: the processed-event record and the effect, together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.consumer.handlers import Handler, U
from lendkit.consumer.retry import GaveUp, retry
from lendkit.db import UnitOfWork
from lendkit.events.envelope import CloudEvent
from lendkit.failures import RetryPolicy
from lendkit.logging import get_logger
from lendkit.parked_keys import RECORD_ONE, KeyParked, KeyState, release_after

log = get_logger(__name__)


async def apply_one(
    uow_factory: Callable[[], U],
    group: str,
    handler: Handler[U],
    event: CloudEvent,
    *,
    replayed: bool = False,
) -> bool:
    """Record the event id and apply the effect in one transaction. False if seen before.
    Raises ``KeyParked`` (recording nothing) if the event must wait behind its key."""
    async with uow_factory() as uow:
        row = (
            await uow.session.execute(
                RECORD_ONE,
                {"group": group, "id": event.id, "type": event.type, "key": event.key},
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
                uow.session, group=group, key=event.key, state=state, event_id=event.id
            )
        await uow.commit()
        return True


async def database_reachable(uow_factory: Callable[[], UnitOfWork]) -> bool:
    try:
        async with uow_factory() as uow:
            await uow.session.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("database unreachable; transient retries continue", error=repr(exc))
        return False


async def in_own_transaction(
    uow_factory: Callable[[], UnitOfWork],
    policy: RetryPolicy,
    work: Callable[[AsyncSession], Awaitable[None]],
) -> None:
    """Bookkeeping that must land before the dead letter is sent (transient failures are
    retried while the database is away: the offset is not committed until it has)."""

    async def attempt() -> None:
        async with uow_factory() as uow:
            await work(uow.session)
            await uow.commit()

    try:
        await retry(attempt, policy=policy, what="parking a key", max_failures=1)
    except GaveUp as stop:
        raise stop.error from None
