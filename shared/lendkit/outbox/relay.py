"""The outbox relay: publishes committed outbox rows to Kafka, in order per key.

One relay at a time publishes for a database (a transaction-scoped advisory lock),
rows are claimed with ``FOR UPDATE SKIP LOCKED`` in id order, sent with an idempotent
producer (acks=all), and marked published in the same transaction that claimed them.
A crash after sending and before marking re-sends the batch: at-least-once, and the
consumers' processed-event records absorb the duplicate.
The relay wakes on PostgreSQL NOTIFY and falls back to polling; its LISTEN connection is
made again when the database drops it (restart, failover, ``pg_terminate_backend``).

A row the broker refuses for good (over the message size limit, an invalid topic: a
non-retriable producer error) must not stop every later event. When a batch fails that
way its rows are sent one at a time: the refused ones move to ``outbox_quarantine`` with
the reason (metric ``outbox_quarantined_total``), the others are published. A quarantined
row holds its key: later rows of the same topic and key stay in the outbox, unpublished,
until the row is retried or discarded (``python -m lendkit.outbox quarantine ...``), so a
loan's events are never published out of order. Rows of other keys are not held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lendkit.db import asyncpg_dsn, driver_connection
from lendkit.failures import RecordTooLarge, is_refused_by_broker
from lendkit.logging import get_logger
from lendkit.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_PUBLISHED,
    OUTBOX_QUARANTINE,
    OUTBOX_QUARANTINED,
)
from lendkit.outbox.quarantine import QUARANTINE, QUARANTINE_SIZE
from lendkit.outbox.writer import OUTBOX_CHANNEL

__all__ = ["BACKLOG_REFRESH_SECONDS", "OutboxRelay", "Partitioner"]

log = get_logger(__name__)

Partitioner = Callable[[bytes | None, list[int], list[int]], int]
"""(key, all partitions sorted by id, available partitions) -> partition, as aiokafka's
``partitioner`` argument."""

_RELAY_LOCK = 0x6F7574626F78  # "outbox": one publishing relay per database

# Claimed and marked through the asyncpg connection under the transaction (no ORM rows):
# thousands of rows a batch at close of business.
# Rows of a key held behind a quarantined row are not claimed (the quarantine is empty but
# for incidents: an anti-join on its (topic, message_key) index costs next to nothing).
_CLAIM = """
SELECT o.id, o.event_id, o.topic, o.message_key, o.partition, o.event_type,
       o.headers::text AS headers, o.payload
FROM outbox AS o
WHERE o.published_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM outbox_quarantine AS q
      WHERE q.topic = o.topic AND q.message_key = o.message_key
  )
ORDER BY o.id
LIMIT $1
FOR UPDATE OF o SKIP LOCKED
"""
_MARK = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"
_PURGE = text("DELETE FROM outbox WHERE published_at < now() - make_interval(hours => :hours)")
_BACKLOG = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
# The backlog gauge is refreshed at most this often, not after every wake-up: right after a
# burst the partial index still holds the just-published rows' dead entries, so the count
# costs tens of milliseconds, and a relay woken hundreds of times a minute (NOTIFY per
# commit) spent seconds of database time on a gauge Prometheus reads every 15 s or so.
BACKLOG_REFRESH_SECONDS = 5.0


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        service: str,
        database_url: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        retention_hours: int = 72,
        topic_namespace: str = "",
        partitioner: Partitioner | None = None,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._service = service
        self._dsn = asyncpg_dsn(database_url)
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retention_hours = retention_hours
        self._wake = asyncio.Event()
        self._namespace = topic_namespace
        self._partitioner: Partitioner = partitioner or DefaultPartitioner()

    async def publish_batch(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published."""
        async with self._engine.begin() as conn:
            raw = await driver_connection(conn)
            if not await raw.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK):
                return 0
            rows = await raw.fetch(_CLAIM, self._batch_size)
            if not rows:
                return 0
            refused: list[tuple[int, str]] = []
            try:
                await self.send(rows)
                published = [row["id"] for row in rows]
            except Exception as exc:
                if not is_refused_by_broker(exc):
                    raise
                log.warning("broker refused a batch; sending it row by row", error=repr(exc))
                published, refused = await self.send_one_by_one(rows)
            if refused:
                await self.quarantine(conn, refused)
            await self.mark_published(conn, published)
        OUTBOX_PUBLISHED.labels(self._service).inc(len(published))
        if refused:
            OUTBOX_QUARANTINED.labels(self._service).inc(len(refused))
        # a batch that was all refused or held still made progress: keep going
        return len(rows)

    async def send_one_by_one(
        self, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[list[int], list[tuple[int, str]]]:
        """Send each row alone, in id order. Returns the ids published and the (id, reason)
        of those the broker refused; a later row of a refused row's key is neither (held)."""
        published: list[int] = []
        refused: list[tuple[int, str]] = []
        held: set[tuple[str, str]] = set()
        for row in rows:
            key = row["message_key"]
            if key is not None and (row["topic"], key) in held:
                continue
            try:
                await self.send([row])
            except Exception as exc:
                if not is_refused_by_broker(exc):
                    raise
                reason = f"{type(exc).__name__}: {exc}"
                log.error(
                    "outbox row refused by the broker; quarantined",
                    outbox_id=row["id"],
                    event_id=str(row["event_id"]),
                    event_type=row["event_type"],
                    reason=reason[:500],
                )
                refused.append((row["id"], reason))
                if key is not None:
                    held.add((row["topic"], key))
                continue
            published.append(row["id"])
        return published, refused

    async def quarantine(self, conn: AsyncConnection, refused: list[tuple[int, str]]) -> None:
        ids, reasons = [i for i, _ in refused], [r for _, r in refused]
        await (await driver_connection(conn)).execute(QUARANTINE, ids, reasons)

    async def send(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Send in id order and wait for every acknowledgement.

        Rows are packed into one record batch per partition (``create_batch`` /
        ``send_batch``), in id order, a full batch sent before the next is started: the
        same records and per-partition order as one ``send`` per row, without a future
        and a metadata check per message. A partition's full batch is acknowledged before
        its next is sent, so a refused batch is never overtaken by later rows of its keys.
        The partition is the row's own, else the relay's partitioner's choice over the
        topic's partitions (by default aiokafka's ``DefaultPartitioner``, murmur2 of the key:
        what ``producer.send`` chooses with the default producer).
        """
        producer = self._producer
        batches: dict[tuple[str, int], Any] = {}
        pending = []
        namespace = self._namespace
        partitioner = self._partitioner
        # one metadata look-up per topic and call, not per row
        partitions: dict[str, tuple[list[int], list[int]]] = {}
        for row in rows:
            topic = namespace + row["topic"]
            stored = row["headers"]
            pairs = json.loads(stored) if isinstance(stored, str) else stored
            headers = [(k, v.encode()) for k, v in pairs]
            message_key = row["message_key"]
            key = message_key.encode() if message_key is not None else None
            value = row["payload"]
            partition = row["partition"]
            if partition is None:
                table = partitions.get(topic)
                if table is None:
                    table = partitions[topic] = await self._partitions(topic)
                partition = partitioner(key, *table)
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[(topic, partition)] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                # A full batch is acknowledged before the partition's next one is sent: if
                # the broker refuses it, no later row of its keys has gone out before it.
                await (await producer.send_batch(batch, topic, partition=partition))
                batch = batches[(topic, partition)] = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise RecordTooLarge(f"outbox row {row['id']} is larger than a record batch")
        for (topic, partition), batch in batches.items():
            pending.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*pending)

    async def _partitions(self, topic: str) -> tuple[list[int], list[int]]:
        """All of ``topic``'s partitions (sorted by id) and the available ones, waiting for
        its metadata if the producer has none yet (public API: ``partitions_for``)."""
        partitions = sorted(await self._producer.partitions_for(topic))
        available = self._producer.client.cluster.available_partitions_for_topic(topic)
        return partitions, list(available or ())

    async def mark_published(self, conn: AsyncConnection, ids: list[int]) -> None:
        await (await driver_connection(conn)).execute(_MARK, ids)

    async def publish_pending(self) -> int:
        total = 0
        while True:
            n = await self.publish_batch()
            total += n
            if n < self._batch_size:
                return total

    async def backlog(self) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(_BACKLOG) or 0)

    async def quarantined(self) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(text(QUARANTINE_SIZE)) or 0)

    async def purge_published(self) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_PURGE, {"hours": self._retention_hours})

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self._listen()
        stop_watch = asyncio.create_task(stop.wait())
        stop_watch.add_done_callback(lambda _: self._wake.set())
        next_purge = time.monotonic() + 3600.0
        next_backlog = time.monotonic()
        try:
            while not stop.is_set():
                self._wake.clear()
                if listener is None or listener.is_closed():
                    # the database dropped it (restart, failover): listen again, then publish
                    # what was committed while the relay could not hear
                    listener = await self._listen()
                try:
                    await self.publish_pending()
                    if time.monotonic() >= next_backlog:
                        OUTBOX_BACKLOG.labels(self._service).set(await self.backlog())
                        OUTBOX_QUARANTINE.labels(self._service).set(await self.quarantined())
                        next_backlog = time.monotonic() + BACKLOG_REFRESH_SECONDS
                    if time.monotonic() >= next_purge:
                        await self.purge_published()
                        next_purge = time.monotonic() + 3600.0
                except Exception as exc:
                    log.warning("outbox relay error", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval)
        finally:
            stop_watch.cancel()
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(
                self._dsn, server_settings={"application_name": f"{self._service}-outbox-listen"}
            )
            await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
            # wake the loop at once when the connection is lost, so it listens again
            conn.add_termination_listener(lambda *_: self._wake.set())
            return conn
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox relay cannot LISTEN; polling only", error=repr(exc))
            return None
