"""The kit's own tables. Every service database has them, created by its first migration.

They live on their own ``MetaData`` so each service keeps its own for its domain tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

kit_metadata = MetaData()


#: Events written in the same transaction as the state change; the relay publishes them.
def _event_row_columns() -> list[Column[object]]:
    """What an outbox row carries to Kafka (the outbox and its quarantine)."""
    return [
        Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("message_key", Text, nullable=True),
        Column("partition", Integer, nullable=True),
        Column("event_type", Text, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("payload", LargeBinary, nullable=False),
    ]


outbox = Table(
    "outbox",
    kit_metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    *_event_row_columns(),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True), nullable=True),
)
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=text("published_at IS NULL"),
)

#: One row per event a consumer group has applied, written with the effect (idempotent consumer).
processed_events = Table(
    "processed_events",
    kit_metadata,
    Column("consumer_group", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer_group", "event_id"),
)

Index(
    "ix_processed_events_processed_at",
    processed_events.c.processed_at,
    postgresql_using="brin",
)

#: Keys (loans) whose events a consumer group holds back: one of its events was dead-lettered,
#: so later events of the key are dead-lettered behind it, in order, until a replay applies
#: the blocking event (``blocked_by``) and then the rest, the last being ``last_parked``.
#: ``blocked_by`` is NULL while a replay is releasing the key.
parked_keys = Table(
    "parked_keys",
    kit_metadata,
    Column("consumer_group", Text, nullable=False),
    Column("message_key", Text, nullable=False),
    Column("blocked_by", Text, nullable=True),
    Column("last_parked", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer_group", "message_key"),
)

#: Outbox rows the broker refused for good (too large, invalid topic): moved here with the
#: reason so later rows keep flowing. Later rows of the same (topic, key) wait in the outbox
#: until the row is retried or discarded (``python -m lendkit.outbox``).
outbox_quarantine = Table(
    "outbox_quarantine",
    kit_metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    *_event_row_columns(),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("quarantined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("ix_outbox_quarantine_key", outbox_quarantine.c.topic, outbox_quarantine.c.message_key)

#: Stored responses of POSTs carrying an Idempotency-Key.
idempotency_keys = Table(
    "idempotency_keys",
    kit_metadata,
    Column("scope", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response_body", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("scope", "key"),
)
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)
