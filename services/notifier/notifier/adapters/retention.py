"""Retention of the contact-attempt record: rows older than the retention (default three
years) are deleted in chunks with the kit's ``prune_in_chunks``; nothing else is ever deleted.

The table's delete trigger (migration 0004) refuses every DELETE unless the transaction set
``notifier.retention_cutoff`` (``set_config(..., true)``: transaction-local) to a moment in
the past, and then refuses any row recorded at or after that cutoff: a purge with a wrong
``WHERE`` fails whole instead of deleting history. UPDATE and TRUNCATE stay refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lendkit.retention import PRUNE_CHUNK, prune_in_chunks

RETENTION_CUTOFF_SETTING = "notifier.retention_cutoff"

_SET_CUTOFF = text(f"SELECT set_config('{RETENTION_CUTOFF_SETTING}', :cutoff, true)")
_PURGE = text(
    """
    DELETE FROM contact_attempts WHERE id = ANY (ARRAY(
        SELECT id FROM contact_attempts
        WHERE recorded_at < :cutoff
        ORDER BY id
        LIMIT :chunk
    ))
    """
)


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)


async def purge_attempts(
    engine: AsyncEngine,
    retention_days: int,
    *,
    now: datetime | None = None,
    chunk: int = PRUNE_CHUNK,
) -> int:
    """Delete the attempt rows recorded before ``now - retention_days``; their number."""
    cutoff = retention_cutoff(now or datetime.now(UTC), retention_days)
    return await prune_in_chunks(
        engine,
        _PURGE,
        {"cutoff": cutoff},
        chunk=chunk,
        setup=_SET_CUTOFF,
        setup_params={"cutoff": cutoff.isoformat()},
    )
