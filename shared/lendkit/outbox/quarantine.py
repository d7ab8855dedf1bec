"""Outbox rows the broker refused for good, and what operations can do with them.

The relay moves such a row from ``outbox`` to ``outbox_quarantine`` (same id, same
columns, plus the reason). While a row of a (topic, key) is quarantined, later rows of that
key stay unpublished in the outbox (the relay does not claim them): a loan's events are
never published past a missing one. Other keys are not affected.

``python -m lendkit.outbox quarantine list|show|retry|discard --database-url URL``:

- ``retry ID...`` (or ``--all``) moves rows back into the outbox under their own ids, so
  they are published before the rows they held (a row refused again returns here);
- ``discard ID...`` drops rows for good and releases their keys: the event is lost to the
  consumers, so do it only when it has been compensated for another way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lendkit.outbox.writer import OUTBOX_CHANNEL

_COLUMNS = "id, event_id, topic, message_key, partition, event_type, headers, payload, created_at"

#: Move refused rows ($1 ids, $2 reasons) from the outbox to the quarantine.
QUARANTINE = f"""
WITH moved AS (
    DELETE FROM outbox WHERE id = ANY ($1::bigint[])
    RETURNING {_COLUMNS}
)
INSERT INTO outbox_quarantine ({_COLUMNS}, reason)
SELECT m.id, m.event_id, m.topic, m.message_key, m.partition, m.event_type, m.headers,
       m.payload, m.created_at, r.reason
FROM moved AS m
JOIN unnest($1::bigint[], $2::text[]) AS r (id, reason) ON r.id = m.id
"""
QUARANTINE_SIZE = "SELECT count(*) FROM outbox_quarantine"

_LIST = """
SELECT q.id, q.event_id, q.topic, q.message_key, q.event_type, octet_length(q.payload) AS bytes,
       q.reason, q.quarantined_at,
       (SELECT count(*) FROM outbox AS o
        WHERE o.published_at IS NULL AND o.topic = q.topic AND o.message_key = q.message_key
       ) AS held
FROM outbox_quarantine AS q
ORDER BY q.id
"""
_SHOW = f"SELECT {_COLUMNS}, reason, quarantined_at FROM outbox_quarantine WHERE id = $1"
_RETRY = f"""
WITH back AS (
    DELETE FROM outbox_quarantine WHERE id = ANY ($1::bigint[]) OR $2
    RETURNING {_COLUMNS}
)
INSERT INTO outbox ({_COLUMNS}) SELECT {_COLUMNS} FROM back
RETURNING id
"""
_DISCARD = "DELETE FROM outbox_quarantine WHERE id = ANY ($1::bigint[]) RETURNING id"


async def list_quarantined(conn: Any) -> list[Any]:
    """Every quarantined row, with how many later rows of its key it holds back."""
    rows: list[Any] = await conn.fetch(_LIST)
    return rows


async def show(conn: Any, outbox_id: int) -> Any:
    return await conn.fetchrow(_SHOW, outbox_id)


async def retry(conn: Any, ids: Sequence[int], *, everything: bool = False) -> list[int]:
    """Move rows back into the outbox (and wake the relay); returns the ids moved."""
    async with conn.transaction():
        moved = [r["id"] for r in await conn.fetch(_RETRY, list(ids), everything)]
        if moved:
            await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
    return moved


async def discard(conn: Any, ids: Sequence[int]) -> list[int]:
    """Drop rows for good, releasing the keys they held; returns the ids dropped."""
    async with conn.transaction():
        dropped = [r["id"] for r in await conn.fetch(_DISCARD, list(ids))]
        if dropped:
            await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
    return dropped
