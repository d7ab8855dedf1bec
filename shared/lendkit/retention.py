"""Pruning the kit's bookkeeping: processed-event records and stored idempotent responses.

Both tables grow with every event and every keyed POST. Rows older than their retention
are deleted in bounded chunks (short transactions, no long locks), hourly, by every
service process that runs the kit's background loops (``run_kit_retention``); several
processes pruning the same database is harmless.

Exactly-once holds for every copy of an event that arrives within
``processed_events_retention_days`` of its first application: its record is still there.
The retention must therefore exceed the topics' retention (Kafka's default is 7 days) and
the time dead letters wait for a replay; the default is 30 days. An idempotency key older
than ``idempotency_keys_retention_hours`` is forgotten: a retry after that is a new request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.logging import get_logger

log = get_logger(__name__)

PRUNE_CHUNK = 10_000
PRUNE_INTERVAL_SECONDS = 3600.0

_PRUNE_PROCESSED = text(
    """
    DELETE FROM processed_events WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM processed_events
        WHERE processed_at < now() - make_interval(days => :days)
        LIMIT :chunk
    ))
    """
)
_PRUNE_IDEMPOTENCY = text(
    """
    DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM idempotency_keys
        WHERE created_at < now() - make_interval(hours => :hours)
        LIMIT :chunk
    ))
    """
)


@dataclass(frozen=True)
class Pruned:
    processed_events: int
    idempotency_keys: int


async def prune_kit_tables(
    engine: AsyncEngine,
    *,
    processed_events_days: int,
    idempotency_keys_hours: int,
    chunk: int = PRUNE_CHUNK,
) -> Pruned:
    """Delete the rows past their retention, ``chunk`` rows a transaction."""
    processed = await _prune(engine, _PRUNE_PROCESSED, {"days": processed_events_days}, chunk)
    keys = await _prune(engine, _PRUNE_IDEMPOTENCY, {"hours": idempotency_keys_hours}, chunk)
    return Pruned(processed, keys)


async def _prune(
    engine: AsyncEngine, statement: TextClause, params: dict[str, int], chunk: int
) -> int:
    return await prune_in_chunks(engine, statement, params, chunk=chunk)


async def prune_in_chunks(
    engine: AsyncEngine,
    statement: TextClause,
    params: Mapping[str, object],
    *,
    chunk: int = PRUNE_CHUNK,
    setup: TextClause | None = None,
    setup_params: Mapping[str, object] | None = None,
) -> int:
    """Run a chunked ``DELETE`` (it takes ``:chunk``) until it deletes fewer than ``chunk``
    rows, one short transaction a round; ``setup`` runs first in each transaction (a service's
    own history table may, for instance, set the purge cutoff its delete trigger checks)."""
    total = 0
    while True:
        async with engine.begin() as conn:
            if setup is not None:
                await conn.execute(setup, dict(setup_params or {}))
            result = await conn.execute(statement, {**params, "chunk": chunk})
        deleted = int(result.rowcount or 0)
        total += deleted
        if deleted < chunk:
            return total


async def run_retention(
    engine: AsyncEngine,
    stop: asyncio.Event,
    *,
    processed_events_days: int,
    idempotency_keys_hours: int,
    interval: float = PRUNE_INTERVAL_SECONDS,
) -> None:
    """Prune now and then every ``interval`` seconds until ``stop``."""
    while not stop.is_set():
        try:
            pruned = await prune_kit_tables(
                engine,
                processed_events_days=processed_events_days,
                idempotency_keys_hours=idempotency_keys_hours,
            )
            if pruned.processed_events or pruned.idempotency_keys:
                log.info(
                    "kit tables pruned",
                    processed_events=pruned.processed_events,
                    idempotency_keys=pruned.idempotency_keys,
                )
        except Exception as exc:
            log.warning("pruning kit tables failed; next round retries", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
