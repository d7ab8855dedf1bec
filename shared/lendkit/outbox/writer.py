"""Writing events to the outbox inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.events.envelope import CloudEvent
from lendkit.tables import outbox

OUTBOX_CHANNEL = "outbox"


def outbox_row(event: CloudEvent) -> dict[str, object]:
    return {
        "event_id": event.id,
        "topic": event.topic,
        "message_key": event.key,
        "partition": event.partition,
        "event_type": event.type,
        "headers": [[k, v.decode()] for k, v in event.headers()],
        "payload": event.data,
    }


async def write_to_outbox(session: AsyncSession, *events: CloudEvent) -> None:
    if events:
        await session.execute(insert(outbox), [outbox_row(e) for e in events])
