from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Column, Integer, MetaData, Table, Text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from lendkit.db import UnitOfWork
from lendkit.events import EventPayload, event_type
from lendkit.kit_tables import kit_metadata
from lendkit.testing import KAFKA, fresh_database

test_metadata = MetaData()
effects = Table(
    "effects",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False),
    Column("loan_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
)


@event_type("kittest.loan.touched.v1", topic="kittest.loans", description="test only")
class LoanTouched(EventPayload):
    loan_id: str
    seq: int


@pytest.fixture(scope="session")
async def kit_db() -> AsyncIterator[tuple[AsyncEngine, str]]:
    url = await fresh_database("kit_test")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(kit_metadata.create_all)
        await conn.run_sync(test_metadata.create_all)
    yield engine, url
    await engine.dispose()


@pytest.fixture
async def engine(kit_db: tuple[AsyncEngine, str]) -> AsyncEngine:
    engine, _ = kit_db
    async with engine.begin() as conn:
        for table in (
            "outbox",
            "outbox_quarantine",
            "processed_events",
            "parked_keys",
            "effects",
            "idempotency_keys",
        ):
            await conn.exec_driver_sql(f"TRUNCATE {table} RESTART IDENTITY")
    return engine


@pytest.fixture
def db_url(kit_db: tuple[AsyncEngine, str]) -> str:
    return kit_db[1]


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> object:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return lambda: UnitOfWork(sessions, "kit-test")


@pytest.fixture
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, acks="all")
    await p.start()
    yield p
    await p.stop()
