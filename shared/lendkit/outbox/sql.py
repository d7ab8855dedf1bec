"""Writing events to the outbox from SQL, for set-based jobs (close of business).

``outbox_insert_select`` builds an ``INSERT INTO outbox ... SELECT`` whose rows carry the
same columns and CloudEvents headers as :func:`lendkit.outbox.writer.outbox_row` builds
in Python, so the relay and consumers cannot tell the two apart. The SELECT supplies the
event id, message key and JSON payload per row; type and topic come from the catalogue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.events.envelope import CONTENT_TYPE, SPECVERSION


def outbox_insert_select(model: type[EventPayload], rows_sql: str) -> str:
    """SQL inserting one outbox row per row of ``rows_sql``.

    ``rows_sql`` must yield the columns ``event_id`` (uuid), ``message_key`` (text) and
    ``payload`` (jsonb, the event data). Bind ``outbox_params(source)`` with the statement.
    Headers follow :meth:`CloudEvent.headers`: specversion, id, type, source, time,
    content-type, subject (= key).
    """
    spec = CATALOGUE.spec_for_model(model)
    return f"""
    INSERT INTO outbox (event_id, topic, message_key, partition, event_type, headers, payload)
    SELECT r.event_id, '{spec.topic}', r.message_key, NULL, '{spec.type}',
           jsonb_build_array(
               jsonb_build_array('ce_specversion', '{SPECVERSION}'),
               jsonb_build_array('ce_id', r.event_id::text),
               jsonb_build_array('ce_type', '{spec.type}'),
               jsonb_build_array('ce_source', CAST(:ce_source AS text)),
               jsonb_build_array('ce_time', CAST(:ce_time AS text)),
               jsonb_build_array('content-type', '{CONTENT_TYPE}'),
               jsonb_build_array('ce_subject', r.message_key)
           ),
           convert_to(r.payload::text, 'UTF8')
    FROM ({rows_sql}) AS r
    ON CONFLICT (event_id) DO NOTHING
    """


def outbox_params(source: str, time: datetime | None = None) -> dict[str, Any]:
    """Bind parameters for :func:`outbox_insert_select`."""
    return {"ce_source": source, "ce_time": (time or datetime.now(UTC)).isoformat()}
