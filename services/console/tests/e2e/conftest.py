"""The whole platform for the console's tests (``lendkit.testing.platform``): the four
services as ``scripts/up.sh`` starts them, each on a fresh database and one private topic
namespace, and the console beside them, with a small portfolio and 100,000 bulk loans.
Ports come from ``CONSOLE_TEST_PORT`` (default 8170: the console; the services on the next
four)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from lendkit.testing.platform import (
    BULK_LOANS,
    ROOT,
    Platform,
    add_bulk_loans,
    running_platform,
    seed_portfolio,
)

ARTEFACTS = ROOT / ".var" / "artefacts" / "console"


@dataclass
class Seeded:
    platform: Platform
    loans: dict[str, str]


@pytest.fixture(scope="session")
async def seeded() -> AsyncIterator[Seeded]:
    port = int(os.environ.get("CONSOLE_TEST_PORT", "8170"))
    async with running_platform(ARTEFACTS / "logs", port) as platform:
        loans = await seed_portfolio(platform)
        await add_bulk_loans(platform, BULK_LOANS, loans["current"])
        yield Seeded(platform, loans)
