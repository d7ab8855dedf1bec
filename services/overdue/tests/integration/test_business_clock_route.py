"""The overdue service's ``GET /business-clock``: how far it has followed the ledger's days,
and the day whose markers are arriving."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from lendkit.contracts import ledger
from lendkit.events import new_event
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database

if TYPE_CHECKING:
    from conftest import World


@pytest.fixture(scope="module")
async def database_url() -> str:
    """A database of its own: the days closed here are the only ones."""
    url = await fresh_database("overdue_clock_route")
    await asyncio.to_thread(upgrade, "overdue", url)
    return url


async def _clock(world: World) -> dict[str, Any]:
    async with world.client(roles=["service"]) as client:
        r = await client.get("/business-clock")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_clock_shows_the_day_being_closed_then_the_closed_day(world: World) -> None:
    assert await _clock(world) == {
        "first_closed_day": None,
        "last_closed_day": None,
        "last_closed_at": None,
        "closing": None,
    }
    day = date(2030, 1, 2)
    for p in range(3):  # half of the markers have arrived
        marker = ledger.BusinessDayClosed(business_date=day, partition=p, partitions=6)
        await world.send(new_event(marker, source="ledger", partition=p), partition=p)
    await world.drain()
    assert (await _clock(world))["closing"] == {
        "business_date": "2030-01-02",
        "markers_received": 3,
        "partitions": 6,
        "review_started": False,
    }

    await world.close_day(day)  # every partition's marker: the day closes here
    clock = await _clock(world)
    assert (clock["first_closed_day"], clock["last_closed_day"]) == ("2030-01-02", "2030-01-02")
    assert clock["closing"] is None and clock["last_closed_at"] is not None
