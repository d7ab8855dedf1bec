"""Batch runs: a partition's consecutive events for one ``Batchable`` in one transaction.

Their ids go into ``processed_events`` with one statement (``ON CONFLICT DO NOTHING
RETURNING``) and the batch function gets only the first-seen events, in partition order.
A batch that fails for a reason that is not transient, is out of its key budget, or holds
a parked key raises :class:`OneByOne`: its events are then applied one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby
from typing import Any

from aiokafka.structs import ConsumerRecord

from lendkit.consumer.handlers import Batchable, U
from lendkit.consumer.retry import GaveUp, retry
from lendkit.consumer.transactions import database_reachable
from lendkit.events.envelope import CloudEvent
from lendkit.failures import RetryPolicy, is_transient
from lendkit.logging import get_logger
from lendkit.parked_keys import RECORD_MANY

log = get_logger(__name__)


@dataclass
class Pending:
    """A run of consecutive records of one partition whose handlers are all ``Batchable``
    (one type or several: a loan's facts of one day come one after another, a stage change
    after an overdue notice, so a run of one type would mostly be one event long)."""

    items: list[tuple[ConsumerRecord, CloudEvent, Batchable[Any]]] = field(default_factory=list)

    def take(self) -> list[tuple[ConsumerRecord, CloudEvent, Batchable[Any]]]:
        """The run so far; the pending run is empty after."""
        taken, self.items = self.items, []
        return taken


def run_of(items: list[tuple[ConsumerRecord, CloudEvent, Batchable[Any]]]) -> Batchable[Any]:
    """The run's handlers as one: each stretch of consecutive events of one handler goes to
    it together, stretch after stretch in the run's order, in the run's one transaction.
    Each handler gives its events the effect of one at a time, and sees what the stretches
    before it wrote, as it would have after their commits."""
    handlers = {event.id: batch for _, event, batch in items}
    if len(set(map(id, handlers.values()))) == 1:
        return items[0][2]

    async def many(uow: Any, events: list[CloudEvent]) -> None:
        for batch, stretch in groupby(events, key=lambda e: handlers[e.id]):
            await batch.many(uow, list(stretch))

    return Batchable(many)


class OneByOne(Exception):
    """The batch cannot be applied as one: apply its events one at a time."""


async def apply_many(
    uow_factory: Callable[[], U], group: str, batch: Batchable[U], events: list[CloudEvent]
) -> set[str] | None:
    """Record the events' ids and apply the first-seen ones in one transaction.
    Returns the ids applied now (the others were seen before, or earlier in the batch),
    or None, recording nothing, if a key of the batch is parked."""
    first_seen: dict[str, CloudEvent] = {}
    for event in events:
        first_seen.setdefault(event.id, event)
    async with uow_factory() as uow:
        result = await uow.session.execute(
            RECORD_MANY,
            {
                "group": group,
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


async def apply_many_retrying(
    uow_factory: Callable[[], U],
    group: str,
    policy: RetryPolicy,
    batch: Batchable[U],
    events: list[CloudEvent],
) -> set[str]:
    """The batch in one transaction, transient failures retried within the key budget;
    raises ``OneByOne`` when its events must be applied one at a time instead."""
    try:
        applied = await retry(
            partial(apply_many, uow_factory, group, batch, events),
            policy=policy,
            what="batch",
            max_failures=1,
            database_reachable=partial(database_reachable, uow_factory),
            once_more_when_reachable=False,
        )
    except GaveUp as stop:
        if is_transient(stop.error):
            log.warning("transient batch failure beyond the key budget; one by one")
        else:
            log.warning(
                "batch failed; applying its events one by one",
                error=repr(stop.error),
                events=len(events),
            )
        raise OneByOne from stop.error
    if applied is None:
        raise OneByOne  # a key of the batch is parked
    return applied
