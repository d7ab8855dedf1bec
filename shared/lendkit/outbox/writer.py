"""Writing events to the outbox inside the caller's transaction: the one outbox writer.

Three ways, one row shape (:data:`OUTBOX_COLUMNS`, headers from
:func:`lendkit.events.envelope.header_pairs`), so the relay and consumers cannot tell them
apart:

- :func:`write_to_outbox` / :func:`outbox_row`: CloudEvents built in Python (the unit of
  work's ``emit``).
- :func:`outbox_insert_select`: ``INSERT ... SELECT`` from set-based SQL (close of
  business); :func:`payload_sql` builds the payload expression from a contract model.
- :func:`write_prebuilt_events`: many prebuilt payloads in one ``INSERT ... SELECT FROM
  unnest`` on the asyncpg connection (batch handlers, set-based jobs).

An event the broker would refuse for its size is refused at write time by the Python paths,
with an error naming it (``OversizedEvent``): the state change it belongs to rolls back with
it, instead of the relay failing on it after commit. Events written by set-based SQL are
not checked here; the relay quarantines any the broker refuses (:mod:`lendkit.outbox.relay`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.events.envelope import CloudEvent, headers_sql, sql_literal
from lendkit.kit_tables import outbox

OUTBOX_CHANNEL = "outbox"

#: The columns every outbox writer fills, in this order.
OUTBOX_COLUMNS = (
    "event_id",
    "topic",
    "message_key",
    "partition",
    "event_type",
    "headers",
    "payload",
)
_INTO = f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)})"

#: The largest event (payload, key and headers) the outbox accepts. The broker and the
#: producer refuse records over 1 MiB (``message.max.bytes`` / ``max_request_size``); this
#: leaves room for the record's framing.
MAX_EVENT_BYTES = 1_000_000


class OversizedEvent(ValueError):
    """An event too large for the broker: it would never be published."""


def check_event_size(
    event_type: str, payload: bytes | str, key: str | None, extra: int = 0
) -> None:
    """Raise ``OversizedEvent`` if the event cannot be published (``extra``: header bytes)."""
    if len(payload) + extra <= MAX_EVENT_BYTES // 4:
        return  # the common case, without encoding anything
    size = (len(payload.encode()) if isinstance(payload, str) else len(payload)) + extra
    size += len(key.encode()) if key is not None else 0
    if size > MAX_EVENT_BYTES:
        raise OversizedEvent(
            f"event {event_type} is {size} bytes, over the {MAX_EVENT_BYTES}-byte limit of the "
            "message broker: it would never be published"
        )


# --- events built in Python -----------------------------------------------------------


def outbox_row(event: CloudEvent) -> dict[str, object]:
    headers = event.headers()
    check_event_size(event.type, event.data, event.key, sum(len(k) + len(v) for k, v in headers))
    row: dict[str, object] = {
        "event_id": event.id,
        "topic": event.topic,
        "message_key": event.key,
        "partition": event.partition,
        "event_type": event.type,
        "headers": [[k, v.decode()] for k, v in headers],
        "payload": event.data,
    }
    return row


async def write_to_outbox(session: AsyncSession, *events: CloudEvent) -> None:
    if events:
        await session.execute(insert(outbox), [outbox_row(e) for e in events])


# --- events from set-based SQL --------------------------------------------------------

# jsonb_build_object takes at most 100 arguments: 50 fields a call, joined with ||
_FIELDS_PER_CALL = 50


def payload_sql(model: type[EventPayload], fields: Mapping[str, str]) -> str:
    """A ``jsonb_build_object(...)`` expression of ``model``'s payload from SQL expressions
    of its fields (``{field: sql_expression}``), in the model's field order.

    Raises ``ValueError`` unless ``fields`` names exactly the model's fields: a contract
    field added or renamed fails where the SQL is built, not in a consumer. The
    expressions must give each field its JSON shape (text for strings and dates, numbers
    for integers); a test should validate a sample against the contract's schema.
    """
    expected = list(model.model_fields)
    missing = [f for f in expected if f not in fields]
    unknown = [f for f in fields if f not in model.model_fields]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"not in the contract {', '.join(unknown)}")
        raise ValueError(f"payload of {model.__name__}: {'; '.join(problems)}")
    pairs = [f"{sql_literal(name)}, {fields[name]}" for name in expected]
    calls = [
        "jsonb_build_object(" + ", ".join(pairs[i : i + _FIELDS_PER_CALL]) + ")"
        for i in range(0, len(pairs), _FIELDS_PER_CALL)
    ] or ["jsonb_build_object()"]
    return " || ".join(calls)


def outbox_insert_select(model: type[EventPayload], rows_sql: str) -> str:
    """SQL inserting one outbox row per row of ``rows_sql``.

    ``rows_sql`` must yield the columns ``event_id`` (uuid), ``message_key`` (text) and
    ``payload`` (jsonb, the event data; see :func:`payload_sql`). Bind
    ``outbox_params(source)`` with the statement. Headers are
    :func:`lendkit.events.envelope.header_pairs`' (subject = key).
    """
    spec = CATALOGUE.spec_for_model(model)
    event_type = sql_literal(spec.type)
    headers = headers_sql(
        id="r.event_id::text",
        type=event_type,
        source="CAST(:ce_source AS text)",
        time="CAST(:ce_time AS text)",
        subject="r.message_key",
    )
    return f"""
    {_INTO}
    SELECT r.event_id, {sql_literal(spec.topic)}, r.message_key, NULL, {event_type},
           {headers},
           convert_to(r.payload::text, 'UTF8')
    FROM ({rows_sql}) AS r
    ON CONFLICT (event_id) DO NOTHING
    """


def outbox_params(source: str, time: datetime | None = None) -> dict[str, Any]:
    """Bind parameters for :func:`outbox_insert_select`."""
    return {"ce_source": source, "ce_time": (time or datetime.now(UTC)).isoformat()}


# --- many prebuilt events in one statement --------------------------------------------

_INSERT_PREBUILT = f"""
{_INTO}
SELECT r.event_id, r.topic, r.message_key, NULL, r.event_type,
       {
    headers_sql(
        id="r.event_id::text",
        type="r.event_type",
        source="$1::text",
        time="$2::text",
        subject="r.message_key",
    )
},
       convert_to(r.payload, 'UTF8')
FROM (
    SELECT gen_random_uuid() AS event_id, u.*
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
         AS u(topic, event_type, message_key, payload, ord)
) AS r
ORDER BY r.ord
"""

_HEADER_BYTES = 512  # the CloudEvents headers the prebuilt writer writes, generously

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

    ``conn`` is an asyncpg connection in the caller's transaction
    (:func:`lendkit.db.driver_connection`). Each payload must be the contract's JSON for
    its model (a test should validate samples against the schema). Event ids are new
    UUIDs made by PostgreSQL. Raises ``OversizedEvent`` (writing nothing) if an event is
    too large for the broker. Wakes the relay on commit (``pg_notify``).
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
    await conn.execute(_INSERT_PREBUILT, source, ce_time, topics, types, keys, payloads)
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
