"""Each service's migrations, run from empty to head, produce exactly its table models
(and the kit's tables): nothing missing, nothing extra. Downgrade to empty works too."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from lendkit.kit_tables import kit_metadata
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database

SERVICES = ("ledger", "overdue", "notifier", "restructure")


def combined(service: str) -> MetaData:
    merged = MetaData()
    for source in (kit_metadata, importlib.import_module(f"{service}.adapters.tables").metadata):
        for table in source.tables.values():
            table.to_metadata(merged)
    return merged


async def schema_differences(url: str, metadata: MetaData) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn: Connection) -> list[Any]:
                context = MigrationContext.configure(sync_conn)
                return [
                    d
                    for d in compare_metadata(context, metadata)
                    if d[0] != "remove_table" or d[1].name != "alembic_version"
                ]

            return await conn.run_sync(diff)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_at_head_match_the_table_models(service: str) -> None:
    url = await fresh_database(f"migrations_{service}")
    await asyncio.to_thread(upgrade, service, url)
    assert await schema_differences(url, combined(service)) == []


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_downgrade_to_empty(service: str) -> None:
    from alembic import command

    from lendkit.migrations import alembic_config

    url = await fresh_database(f"migrations_down_{service}")
    await asyncio.to_thread(upgrade, service, url)
    await asyncio.to_thread(command.downgrade, alembic_config(service, url), "base")
    assert await schema_differences(url, MetaData()) == []
