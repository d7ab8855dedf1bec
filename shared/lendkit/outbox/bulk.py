"""Writing many prebuilt events to the outbox in one statement (set-based jobs, batch handlers).

The caller supplies, per event, the message key and the payload as JSON text (already in
the contract's shape); ``INSERT ... SELECT FROM unnest`` writes the rows with the same
columns and CloudEvents headers as :func:`lendkit.outbox.writer.outbox_row` and
:func:`lendkit.outbox.sql.outbox_insert_select`, so the relay and consumers cannot tell the
three apart. Event ids are made by PostgreSQL (``gen_random_uuid()``) unless given.

Runs on the asyncpg connection under the caller's transaction (the session's driver
connection) and wakes the relay on commit (``pg_notify``, delivered only if it commits).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.events.envelope import CONTENT_TYPE, SPECVERSION
from lendkit.outbox.writer import OUTBOX_CHANNEL, check_event_size

_INSERT = f"""
INSERT INTO outbox (event_id, topic, message_key, partition, event_type, headers, payload)
SELECT r.event_id, r.topic, r.message_key, NULL, r.event_type,
       jsonb_build_array(
           jsonb_build_array('ce_specversion', '{SPECVERSION}'),
           jsonb_build_array('ce_id', r.event_id::text),
           jsonb_build_array('ce_type', r.event_type),
           jsonb_build_array('ce_source', $1::text),
           jsonb_build_array('ce_time', $2::text),
           jsonb_build_array('content-type', '{CONTENT_TYPE}'),
           jsonb_build_array('ce_subject', r.message_key)
       ),
       convert_to(r.payload, 'UTF8')
FROM (
    SELECT gen_random_uuid() AS event_id, u.*
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
         AS u(topic, event_type, message_key, payload, ord)
) AS r
ORDER BY r.ord
"""


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session``, inside its transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


_HEADER_BYTES = 512  # the CloudEvents headers this module writes, generously

PrebuiltEvent = tuple[type[EventPayload], str | None, str]
"""(payload model, message key, payload JSON in the contract's shape)."""


async def write_prebuilt_events(
    conn: Any,
    events: Sequence[PrebuiltEvent],
    *,
    source: str,
    time: datetime | None = None,
) -> int:
    """Write ``events`` to the outbox in the given order (one statement); returns the count.

    ``conn`` is an asyncpg connection in the caller's transaction. Each payload must be
    the contract's JSON for its model (a test should validate samples against the schema).
    Event ids are new UUIDs made by PostgreSQL. Raises ``OversizedEvent`` (writing
    nothing) if an event is too large for the broker.
    """
    if not events:
        return 0
    specs: dict[type[EventPayload], tuple[str, str]] = {}
    topics, types, keys, payloads = [], [], [], []
    for model, key, payload in events:
        spec = specs.get(model)
        if spec is None:
            found = CATALOGUE.spec_for_model(model)
            spec = specs[model] = (found.topic, found.type)
        check_event_size(spec[1], payload, key, _HEADER_BYTES)
        topics.append(spec[0])
        types.append(spec[1])
        keys.append(key)
        payloads.append(payload)
    ce_time = (time or datetime.now(UTC)).isoformat()
    await conn.execute(_INSERT, source, ce_time, topics, types, keys, payloads)
    await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
    return len(events)


_KEY_FIELDS: dict[type[EventPayload], str | None] = {}


def prebuilt(payload: EventPayload) -> PrebuiltEvent:
    """``payload`` as a prebuilt event: its JSON and its key (the catalogue's key field)."""
    model = type(payload)
    try:
        key_field = _KEY_FIELDS[model]
    except KeyError:
        key_field = _KEY_FIELDS[model] = CATALOGUE.spec_for_model(model).key_field
    key = None if key_field is None else str(getattr(payload, key_field))
    return model, key, payload.model_dump_json()
