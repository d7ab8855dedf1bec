"""Parked keys: a loan whose event was dead-lettered waits, in order, until a replay.

When a consumer group dead-letters an event with message key K (a loan), later events of K
must not be applied past it: they are dead-lettered too ("key parked behind <event id>"),
in partition order, behind it on the same dead-letter partition. ``parked_keys`` holds, per
group and key, the event blocking the key (``blocked_by``) and the last event parked
behind it (``last_parked``). Every other key of the partition keeps flowing.

A replay (``python -m lendkit.dead_letters replay``) sends the dead letters back in order.
When the blocking event comes back and is applied, the key is *releasing*
(``blocked_by`` NULL): the replayed events parked behind it are applied as they arrive, and
when the last one is, the key is free again. A replayed event that fails again blocks the
key once more; a live event that arrives while the key is parked or releasing is parked
behind the others (and comes back with the next replay).

``python -m lendkit.parked_keys list|release`` shows the parked keys of a group and frees
one by hand (its dead letters then replay as ordinary events).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.db import asyncpg_dsn

#: The processed-event record and the key's parked state in one round trip: the hot path
#: pays nothing for parking while no key is parked.
RECORD_ONE = text(
    """
    WITH parked AS (
        SELECT blocked_by, last_parked FROM parked_keys
        WHERE consumer_group = :group AND message_key = :key
    ), ins AS (
        INSERT INTO processed_events (consumer_group, event_id, event_type)
        VALUES (:group, :id, :type)
        ON CONFLICT DO NOTHING
        RETURNING event_id
    )
    SELECT EXISTS (SELECT 1 FROM ins) AS first,
           EXISTS (SELECT 1 FROM parked) AS parked,
           (SELECT blocked_by FROM parked) AS blocked_by,
           (SELECT last_parked FROM parked) AS last_parked
    """
)

#: A batch's records, unless one of its keys is parked (then nothing is recorded and the
#: row ``(NULL, true)`` says so: the consumer applies that batch one event at a time).
RECORD_MANY = text(
    """
    WITH parked AS (
        SELECT EXISTS (
            SELECT 1 FROM parked_keys
            WHERE consumer_group = CAST(:group AS text)
              AND message_key = ANY (CAST(:keys AS text[]))
        ) AS hit
    ), ins AS (
        INSERT INTO processed_events (consumer_group, event_id, event_type)
        SELECT CAST(:group AS text), u.event_id, u.event_type
        FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[])) AS u(event_id, event_type)
        WHERE NOT (SELECT hit FROM parked)
        ON CONFLICT DO NOTHING
        RETURNING event_id
    )
    SELECT event_id, false AS parked FROM ins
    UNION ALL
    SELECT NULL, true FROM parked WHERE hit
    """
)

_PARK = text(
    """
    INSERT INTO parked_keys (consumer_group, message_key, blocked_by, last_parked, reason)
    VALUES (:group, :key, :id, :id, :reason)
    ON CONFLICT (consumer_group, message_key) DO UPDATE
    SET blocked_by = EXCLUDED.blocked_by,
        reason = EXCLUDED.reason,
        parked_at = now(),
        last_parked = CASE WHEN CAST(:replayed AS boolean) THEN parked_keys.last_parked
                           ELSE EXCLUDED.last_parked END
    """
)
_BEHIND = text(
    """
    UPDATE parked_keys SET last_parked = :id
    WHERE consumer_group = :group AND message_key = :key
    """
)
_DELETE = text("DELETE FROM parked_keys WHERE consumer_group = :group AND message_key = :key")
_RELEASING = text(
    """
    UPDATE parked_keys SET blocked_by = NULL
    WHERE consumer_group = :group AND message_key = :key
    """
)


@dataclass(frozen=True)
class KeyState:
    """A key's row in ``parked_keys`` as the consumer read it with the event's record."""

    blocked_by: str | None
    last_parked: str

    def lets_through(self, event_id: str, replayed: bool) -> bool:
        """May this event be applied now? Only a replayed one: the blocking event itself,
        or any while the key is releasing (the replay brings them back in order)."""
        return replayed and (self.blocked_by is None or self.blocked_by == event_id)


class KeyParked(Exception):
    """The event's key is parked behind an earlier dead letter; it waits behind it."""

    def __init__(self, key: str, blocked_by: str | None) -> None:
        behind = blocked_by or "events still being replayed"
        super().__init__(f"key parked behind {behind}")
        self.key = key


async def park(
    session: AsyncSession, *, group: str, key: str, event_id: str, reason: str, replayed: bool
) -> None:
    """Block ``key`` behind ``event_id`` (just dead-lettered). A live event is also the last
    parked; a replayed one keeps the events already parked behind it."""
    params = {"group": group, "key": key, "id": event_id, "reason": reason[:500]}
    await session.execute(_PARK, {**params, "replayed": replayed})


async def park_behind(session: AsyncSession, *, group: str, key: str, event_id: str) -> None:
    """A live event dead-lettered behind a parked key becomes the key's last parked event."""
    await session.execute(_BEHIND, {"group": group, "key": key, "id": event_id})


async def release_after(
    session: AsyncSession, *, group: str, key: str, state: KeyState, event_id: str
) -> None:
    """A replayed event of a parked key was applied (in the same transaction)."""
    params = {"group": group, "key": key}
    if event_id == state.last_parked:
        await session.execute(_DELETE, params)
    elif state.blocked_by is not None:
        await session.execute(_RELEASING, params)


async def list_parked(dsn: str, group: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(
            """
            SELECT message_key, blocked_by, last_parked, reason, parked_at
            FROM parked_keys WHERE consumer_group = $1 ORDER BY parked_at
            """,
            group,
        )
        return rows
    finally:
        await conn.close()


async def release(dsn: str, group: str, key: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        status: str = await conn.execute(
            "DELETE FROM parked_keys WHERE consumer_group = $1 AND message_key = $2", group, key
        )
        return status.endswith(" 1")
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lendkit.parked_keys")
    parser.add_argument("--database-url", required=True, help="the consumer's database")
    parser.add_argument("--group", required=True, help="consumer group")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="keys held back behind a dead letter")
    rel = sub.add_parser("release", help="free a key by hand (its dead letters stay parked)")
    rel.add_argument("key")
    args = parser.parse_args(argv)
    dsn = asyncpg_dsn(args.database_url)
    if args.command == "list":
        for row in asyncio.run(list_parked(dsn, args.group)):
            print(
                f"{row['message_key']}\tblocked_by={row['blocked_by'] or '(releasing)'}"
                f"\tlast_parked={row['last_parked']}\t{row['parked_at']:%Y-%m-%dT%H:%M:%S}"
                f"\t{row['reason']}"
            )
    else:
        done = asyncio.run(release(dsn, args.group, args.key))
        print(f"key {args.key}: {'released' if done else 'was not parked'}")


if __name__ == "__main__":
    main()
