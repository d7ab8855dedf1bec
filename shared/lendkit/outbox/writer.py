"""Writing events to the outbox inside the caller's transaction.

An event the broker would refuse for its size is refused here, at write time, with an
error naming it (``OversizedEvent``): the state change it belongs to rolls back with it,
instead of the relay failing on it after commit. Events written by set-based SQL
(:mod:`lendkit.outbox.sql`) are not checked here; the relay quarantines any the broker
refuses (:mod:`lendkit.outbox.relay`).
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.events.envelope import CloudEvent
from lendkit.kit_tables import outbox

OUTBOX_CHANNEL = "outbox"

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


def outbox_row(event: CloudEvent) -> dict[str, object]:
    headers = event.headers()
    check_event_size(event.type, event.data, event.key, sum(len(k) + len(v) for k, v in headers))
    return {
        "event_id": event.id,
        "topic": event.topic,
        "message_key": event.key,
        "partition": event.partition,
        "event_type": event.type,
        "headers": [[k, v.decode()] for k, v in headers],
        "payload": event.data,
    }


async def write_to_outbox(session: AsyncSession, *events: CloudEvent) -> None:
    if events:
        await session.execute(insert(outbox), [outbox_row(e) for e in events])
