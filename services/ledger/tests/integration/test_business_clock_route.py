"""``GET /business-clock``: what a client needs to know about "today" without closing a day."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from ledger.adapters.close_of_business import COB_LOCK
from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database, unique

from .conftest import Ledger, running_ledger


@pytest.fixture(scope="module")
async def ledger() -> AsyncIterator[Ledger]:
    url = await fresh_database("ledger_clock_route")
    await asyncio.to_thread(upgrade, "ledger", url)
    async with running_ledger(url) as running:
        yield running


async def _clock(ledger: Ledger, role: Role = Role.OPS) -> dict[str, object]:
    r = await ledger.client.get(
        "/business-clock",
        headers=ledger.auth(role, borrower_id="B-1" if role is Role.BORROWER else None),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _close(ledger: Ledger, day: str) -> None:
    r = await ledger.client.post(
        "/close-of-business",
        json={"business_date": day},
        headers={**ledger.auth(), "Idempotency-Key": unique("cob")},
    )
    assert r.status_code == 200, r.text


async def test_the_clock_before_any_close_names_no_closed_day(ledger: Ledger) -> None:
    clock = await _clock(ledger, Role.BORROWER)
    assert clock["first_closed_day"] is None and clock["last_closed_day"] is None
    assert clock["simulated"] is True and clock["close_running"] is False
    assert clock["business_timezone"] == "Asia/Shanghai"


async def test_the_clock_follows_the_closes_and_says_when_one_is_running(ledger: Ledger) -> None:
    await _close(ledger, "2031-03-01")
    await _close(ledger, "2031-03-03")  # catches up 03-02

    clock = await _clock(ledger)
    assert (clock["first_closed_day"], clock["last_closed_day"]) == ("2031-03-01", "2031-03-03")
    assert clock["today"] == "2031-03-04"  # simulated: the day after the last closed day
    assert clock["last_closed_at"] is not None and clock["max_catch_up_days"] == 366

    async with ledger.runtime.session_factory() as running, running.begin():
        # what a close of business holds while it runs
        await running.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": COB_LOCK})
        assert (await _clock(ledger))["close_running"] is True
    assert (await _clock(ledger))["close_running"] is False
