"""On the real business clock (no ``LEDGER_SIMULATED_CLOCK``): no day after today in the
business timezone is closed, by the API or the command line; only ops and admin close a
day; a payment is never valued after today in its loan's timezone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ledger.adapters.tables import cob_runs
from ledger.entrypoints import cli
from lendkit.auth import Role
from lendkit.migrations import upgrade
from lendkit.testing import fresh_database, unique

from .conftest import Ledger, running_ledger

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
async def ledger() -> AsyncIterator[Ledger]:
    url = await fresh_database("ledger_real_clock")
    await asyncio.to_thread(upgrade, "ledger", url)
    async with running_ledger(url, simulated_clock=False) as running:
        yield running


async def _closed_days(ledger: Ledger) -> int:
    async with ledger.runtime.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(cob_runs)) or 0)


async def test_close_of_business_after_today_is_refused_on_the_real_clock(ledger: Ledger) -> None:
    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=1)
    r = await ledger.client.post(
        "/close-of-business",
        json={"business_date": tomorrow.isoformat()},
        headers={**ledger.auth(Role.OPS), "Idempotency-Key": unique("cob")},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["body", "business_date"]
    assert await _closed_days(ledger) == 0


async def test_close_of_business_is_for_ops_and_admin_only(ledger: Ledger) -> None:
    r = await ledger.client.post(
        "/close-of-business",
        json={"business_date": "2026-01-05"},
        headers={**ledger.auth(Role.SERVICE), "Idempotency-Key": unique("cob")},
    )
    assert r.status_code == 403, r.text
    assert await _closed_days(ledger) == 0


def test_the_command_line_refuses_a_future_day_on_the_real_clock(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", ledger.runtime.settings.database_url)
    monkeypatch.delenv("LEDGER_SIMULATED_CLOCK", raising=False)
    later = datetime.now(SHANGHAI).date() + timedelta(days=30)
    assert cli.main(["close-of-business", later.isoformat()]) == 2
    assert "after today on the business clock" in capsys.readouterr().err


async def test_payment_value_date_after_today_in_the_loans_timezone_is_refused(
    ledger: Ledger,
) -> None:
    product = await ledger.product()
    loan_id = unique("L")
    r = await ledger.client.post(
        "/loans",
        json={
            "loan_id": loan_id,
            "borrower_id": unique("B"),
            "product_code": product,
            "principal_minor": 300_000,
            "disbursed_on": "2026-01-10",
            "timezone": "Pacific/Kiritimati",  # UTC+14: the first place where a day starts
        },
        headers={**ledger.auth(), "Idempotency-Key": unique("k")},
    )
    assert r.status_code == 201, r.text
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    ahead = await ledger.pay(loan_id, 1_000, today + timedelta(days=1))
    assert ahead.status_code == 422, ahead.text
    assert ahead.json()["errors"][0]["loc"] == ["body", "value_date"]
    assert (await ledger.pay(loan_id, 1_000, today)).status_code == 201
