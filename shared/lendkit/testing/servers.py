"""Helpers for tests that use the real Kafka and PostgreSQL started by ``scripts/infra``.

Imported by the services' test suites so each builds its fixtures the same way.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Sequence

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.contracts.topics import TOPICS, TopicSpec
from lendkit.events.envelope import CloudEvent
from lendkit.topic_admin import ensure_topics

KAFKA = os.environ.get("TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PG_PASSWORD = os.environ.get("PG_PASSWORD", "platform")
PG_PORT = os.environ.get("PG_PORT", "54329")
PG_SERVER = f"postgres:{PG_PASSWORD}@127.0.0.1:{PG_PORT}"
# Prefixed to every database a test creates, so that two checkouts can run their suites
# against the same servers at once without dropping each other's databases.
DB_PREFIX = os.environ.get("TEST_DB_PREFIX", "")


def database_url(name: str) -> str:
    return f"postgresql+asyncpg://{PG_SERVER}/{name}"


async def fresh_database(name: str) -> str:
    """Drop and create database ``name`` (behind ``TEST_DB_PREFIX``); returns its URL.

    Dropping ends every session on it: two fixtures alive at once need two names."""
    await drop_database(name)
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{DB_PREFIX + name}"')
    finally:
        await conn.close()
    return database_url(DB_PREFIX + name)


async def drop_database(name: str) -> None:
    """Drop database ``name`` (behind ``TEST_DB_PREFIX``) if it exists, ending its sessions."""
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_PREFIX + name}" WITH (FORCE)')
    finally:
        await conn.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_topics(*names: str, partitions: int = 6) -> None:
    await ensure_topics(KAFKA, [TopicSpec(n, partitions, "test topic") for n in names])


async def create_platform_topics(namespace: str) -> None:
    """Every platform topic under ``namespace``: an isolated copy of the event streams."""
    await ensure_topics(KAFKA, namespace=namespace)


async def delete_namespace_topics(namespace: str) -> None:
    """Delete every topic under ``namespace`` (a test or benchmark run's private copy), so
    that runs do not pile up partitions on the broker."""
    assert namespace, "refusing to delete the un-namespaced platform topics"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(namespace)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def read_events(
    topics: Sequence[str],
    *,
    count: int,
    timeout: float = 20.0,
    types: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    until: Callable[[list[CloudEvent]], bool] | None = None,
) -> list[CloudEvent]:
    """Read the first ``count`` CloudEvents (of ``types`` and message ``keys``, if given)
    from the start of ``topics``, or fewer: stop as soon as ``until(found)`` holds, if given."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=KAFKA,
        group_id=unique("reader"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[CloudEvent] = []
    deadline = time.monotonic() + timeout
    try:
        while (
            len(found) < count
            and time.monotonic() < deadline
            and not (until is not None and until(found))
        ):
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    event = CloudEvent.from_kafka(
                        r.topic, r.key, r.value, list(r.headers), r.partition
                    )
                    if (types is None or event.type in types) and (
                        keys is None or event.key in keys
                    ):
                        found.append(event)
    finally:
        await consumer.stop()
    return found[:count]


async def start_group_at_end(group: str, topics: Sequence[str]) -> None:
    """Commit ``group``'s offsets at the current end of the platform ``topics``, so a
    consumer group a test creates reads what is published from now on, not the shared
    topics' history (a new group otherwise starts from the earliest record, as it must in
    production)."""
    sizes = {spec.name: spec.partitions for spec in TOPICS}
    partitions = [TopicPartition(topic, p) for topic in topics for p in range(sizes[topic])]
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()


async def wait_ready(
    url: str, timeout: float = 180.0, alive: Callable[[], bool] | None = None
) -> None:
    """Poll ``<url>/readyz`` until it answers 200 (a service process started and reached its
    database and broker); ``alive`` (optional) says whether the process is still running."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if alive is not None and not alive():
                raise RuntimeError(f"{url}: the process exited before it was ready")
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {timeout:.0f} s")


async def eventually(check: object, timeout: float = 20.0, interval: float = 0.1) -> None:
    """Await ``check()`` until it returns truthy or time runs out (then assert)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


#: From ``pg_locks``, read afresh by every statement (``pg_stat_activity`` is a snapshot
#: taken once per transaction: a session that connected later is never seen in it).
_BLOCKS_ANOTHER = text(
    "SELECT EXISTS (SELECT FROM pg_locks"
    " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
)


async def blocks_another_session(session: AsyncSession) -> bool:
    """Whether another database session waits for a lock ``session``'s transaction holds
    (a race test's cue to let its first transaction commit)."""
    return bool(await session.scalar(_BLOCKS_ANOTHER))
