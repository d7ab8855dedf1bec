"""A payment's value date is a business date: not after today on the business clock, not
before the last closed business day unless ops back-date it, never 9999-12-31 (PostgreSQL's
infinity); a borrower cannot assert a payment; a loan already holding a payment at infinity
is repaired by an ops command.

The ledger here runs on a simulated clock: closing 2026-02-10 makes 2026-02-11 today.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from ledger.entrypoints import cli
from lendkit.auth import Role
from lendkit.testing import unique

from .conftest import Ledger

CLOSED = date(2026, 2, 10)
TODAY = date(2026, 2, 11)


@pytest.fixture(scope="module")
async def ledger(clock_ledger: Ledger) -> Ledger:
    """This module closes business days: a ledger of its own (see ``clock_ledger``)."""
    await clock_ledger.close_day(CLOSED.isoformat())
    return clock_ledger


async def _pay(
    ledger: Ledger, loan_id: str, value_date: str, role: Role = Role.SERVICE, **extra: Any
) -> Any:
    return await ledger.client.post(
        f"/loans/{loan_id}/payments",
        json={
            "external_reference": unique("ref"),
            "amount_minor": 1_000,
            "value_date": value_date,
            **extra,
        },
        headers={**ledger.auth(role), "Idempotency-Key": unique("k")},
    )


async def _payments(ledger: Ledger, loan_id: str) -> list[dict[str, Any]]:
    r = await ledger.client.get(f"/loans/{loan_id}/payments", headers=ledger.auth())
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _refused_field(r: Any) -> str:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return str(r.json()["errors"][0]["loc"][-1])


async def test_payment_value_date_after_today_is_refused(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())
    assert _refused_field(await _pay(ledger, loan_id, "9999-12-31")) == "value_date"
    assert _refused_field(await _pay(ledger, loan_id, "0001-01-01")) == "value_date"
    tomorrow = await _pay(ledger, loan_id, "2026-02-12")
    assert _refused_field(tomorrow) == "value_date"
    assert "after today on the business clock (2026-02-11)" in tomorrow.json()["detail"]
    assert await _payments(ledger, loan_id) == []
    assert (await _pay(ledger, loan_id, TODAY.isoformat())).status_code == 201
    assert (await _pay(ledger, loan_id, CLOSED.isoformat())).status_code == 201


async def test_payment_before_the_last_closed_day_needs_an_explicit_ops_back_date(
    ledger: Ledger,
) -> None:
    loan_id = await ledger.loan(await ledger.product())
    assert _refused_field(await _pay(ledger, loan_id, "2026-02-05")) == "value_date"
    forbidden = await _pay(ledger, loan_id, "2026-02-05", back_dated=True)
    assert forbidden.status_code == 403, forbidden.text
    assert await _payments(ledger, loan_id) == []
    back_dated = await _pay(ledger, loan_id, "2026-02-05", Role.OPS, back_dated=True)
    assert back_dated.status_code == 201, back_dated.text
    assert back_dated.json()["value_date"] == "2026-02-05"


async def test_a_borrower_token_cannot_assert_a_payment(ledger: Ledger) -> None:
    borrower = unique("B")
    loan_id = await ledger.loan(await ledger.product(), borrower_id=borrower)
    r = await ledger.client.post(
        f"/loans/{loan_id}/payments",
        json={"external_reference": "app", "amount_minor": 1_000, "value_date": "2026-02-11"},
        headers={
            **ledger.auth(Role.BORROWER, borrower_id=borrower),
            "Idempotency-Key": unique("k"),
        },
    )
    assert r.status_code == 403, r.text
    assert await _payments(ledger, loan_id) == []


async def test_a_loan_with_a_payment_at_infinity_is_repaired_by_the_ops_command(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The state an unbounded value date left: the payment and the journal entries of its
    # allocation at 'infinity' (what PostgreSQL makes of 9999-12-31).
    loan_id = await ledger.loan(await ledger.product())
    bad = (await _pay(ledger, loan_id, TODAY.isoformat())).json()["payment_id"]
    async with ledger.runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE payments SET value_date = 'infinity' WHERE payment_id = :p"), {"p": bad}
        )
        await conn.execute(
            text(
                "UPDATE journal_entries SET business_date = 'infinity' "
                "WHERE loan_id = :l AND business_date = :d"
            ),
            {"l": loan_id, "d": TODAY},
        )

    monkeypatch.setenv("LEDGER_DATABASE_URL", ledger.runtime.settings.database_url)
    monkeypatch.setenv("LEDGER_SIMULATED_CLOCK", "true")
    assert await asyncio.to_thread(cli.main, ["repair-value-dates"]) == 1  # listed, untouched
    listed = json.loads(capsys.readouterr().out)
    assert listed["applied"] is False
    assert [(p["payment_id"], p["value_date"]) for p in listed["payments"]] == [(bad, "infinity")]

    assert await asyncio.to_thread(cli.main, ["repair-value-dates", "--apply"]) == 0
    repaired = json.loads(capsys.readouterr().out)["payments"]
    assert [(p["payment_id"], p["reversed_on"]) for p in repaired] == [(bad, TODAY.isoformat())]
    assert await asyncio.to_thread(cli.main, ["repair-value-dates"]) == 0  # nothing left

    payments = await _payments(ledger, loan_id)
    assert [(p["payment_id"], p["reversed"]) for p in payments] == [(bad, True)]
    async with ledger.runtime.engine.connect() as conn:
        reason = await conn.scalar(
            text("SELECT reversal_reason FROM payments WHERE payment_id = :p"), {"p": bad}
        )
    assert "value date infinity" in reason
    # The loan works again: a payment, what is owed, the statement, the books.
    assert (await _pay(ledger, loan_id, TODAY.isoformat())).status_code == 201
    owed = await ledger.client.get(f"/loans/{loan_id}/owed", headers=ledger.auth())
    assert owed.status_code == 200, owed.text
    statement = await ledger.client.get(
        f"/loans/{loan_id}/statement",
        params={"from": "2026-02-01", "to": TODAY.isoformat()},
        headers=ledger.auth(),
    )
    assert statement.status_code == 200, statement.text
    # Disbursed 300,000 (the loan came after 02-10 was closed, so no interest is recognised
    # yet); the repaired payment and its reversal cancel out; the new payment paid 1,000.
    movements = [(m["date"], m["total_minor"]) for m in statement.json()["movements"]]
    day = TODAY.isoformat()
    assert movements == [(day, -1_000), (day, 1_000), (day, -1_000)]  # paid, reversed, paid
    assert statement.json()["closing"]["total_minor"] == 300_000 - 1_000
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon
