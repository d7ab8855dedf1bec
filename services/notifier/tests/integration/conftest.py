"""The notifier's integration world: a real PostgreSQL database migrated to head.

The contact-attempt record refuses TRUNCATE (it is append-only), so tests do not empty it:
every test uses its own borrower and loan ids (``unique``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lendkit.migrations import upgrade
from lendkit.testing import fresh_database


@pytest.fixture(scope="session")
async def database_url() -> str:
    url = await fresh_database("notifier_test")
    await asyncio.to_thread(upgrade, "notifier", url)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()
