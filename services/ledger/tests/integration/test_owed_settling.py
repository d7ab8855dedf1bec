"""'What do I owe' after a close of business: while the closed day's penalty may still
arrive the answer says it is settling; once the penalty is booked it is in the total, and
paying exactly the total leaves the loan current, also after everything has settled.

Worked example: 3,000.00 CNY, 12 % a year, 3 months, equal principal, disbursed 2026-01-10.
Instalment 1 is due 2026-02-10: principal 1,000.00 + interest 30.00 = 103,000 fen. Closing
2026-02-11 (simulated clock: today becomes 2026-02-12) leaves it one day past due; the
overdue service assesses 0.50 of penalty for 2026-02-11. /owed then shows 103,050.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from lendkit.auth import Role
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.events import new_event
from lendkit.testing import eventually, unique

from .conftest import Ledger


@pytest.fixture(scope="module")
def ledger(clock_ledger: Ledger) -> Ledger:
    """This module closes business days: a ledger of its own (see ``clock_ledger``)."""
    return clock_ledger


async def _owed(ledger: Ledger, loan_id: str, borrower: str) -> dict[str, Any]:
    r = await ledger.client.get(
        f"/loans/{loan_id}/owed", headers=ledger.auth(Role.BORROWER, borrower_id=borrower)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _penalty(loan_id: str, day: date, amount: int) -> PenaltyAssessed:
    return PenaltyAssessed(
        loan_id=loan_id,
        seq=1,
        business_date=day,
        base_minor=100_000,
        daily_rate="0.0005",
        amount_minor=amount,
        currency="CNY",
    )


async def test_paying_what_owed_shows_after_a_close_of_business_leaves_the_loan_current(
    ledger: Ledger,
) -> None:
    borrower = unique("B")
    loan_id = await ledger.loan(await ledger.product(), borrower_id=borrower)
    current = await ledger.loan(await ledger.product(), disbursed_on=date(2026, 2, 1))
    await ledger.close_day("2026-02-11")

    # Right after the close: the day's penalty has not arrived, and the answer says so.
    settling = await _owed(ledger, loan_id, borrower)
    assert (settling["as_of"], settling["total_minor"]) == ("2026-02-12", 103_000)
    assert settling["settling"] is True
    assert settling["pending_penalty_day"] == "2026-02-11"
    assert "ask again before paying" in settling["summary"]
    # A loan not in arrears on the closed day expects no penalty: nothing is pending.
    not_due = (await ledger.client.get(f"/loans/{current}/owed", headers=ledger.auth())).json()
    assert (not_due["settling"], not_due["pending_penalty_day"]) == (False, None)

    await ledger.publish(new_event(_penalty(loan_id, date(2026, 2, 11), 50), source="overdue"))

    async def settled() -> bool:
        return (await _owed(ledger, loan_id, borrower))["settling"] is False

    await eventually(settled, timeout=30)
    owed = await _owed(ledger, loan_id, borrower)
    assert (owed["total_minor"], owed["pending_penalty_day"]) == (103_050, None)
    assert owed["by_component"]["penalty_minor"] == 50

    paid = await ledger.pay(loan_id, owed["total_minor"], date(2026, 2, 12))
    assert paid.status_code == 201, paid.text
    lines = [(x["component"], x["amount_minor"]) for x in paid.json()["allocation"]["lines"]]
    assert lines == [("penalty", 50), ("interest", 3_000), ("principal", 100_000)]

    # Everything settles: the next day closes, nothing more is owed and nothing is pending.
    await ledger.close_day("2026-02-12")
    after = await _owed(ledger, loan_id, borrower)
    assert (after["total_minor"], after["settling"], after["instalments"]) == (0, False, [])
    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    assert detail["schedule"][0]["outstanding"] == {
        "principal_minor": 0,
        "interest_minor": 0,
        "penalty_minor": 0,
        "fee_minor": 0,
    }
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon


async def test_statement_lists_movements_in_business_date_order(ledger: Ledger) -> None:
    """A penalty for an earlier day booked after a later payment re-allocates the payment;
    the statement still lists every movement in date order, the payment on its value date."""
    loan_id = await ledger.loan(await ledger.product())
    # The clock is at 2026-02-13 (the previous test closed 02-12): pay today, then the
    # overdue service's penalty for 02-12 arrives.
    paid = await ledger.pay(loan_id, 103_000, date(2026, 2, 13))
    assert paid.status_code == 201, paid.text
    await ledger.publish(new_event(_penalty(loan_id, date(2026, 2, 12), 50), source="overdue"))

    async def booked() -> bool:
        r = await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())
        return bool(
            r.json()["balances"]["penalty_minor"] + r.json()["balances"]["principal_minor"]
            == 200_050
        )

    await eventually(booked, timeout=30)
    r = await ledger.client.get(
        f"/loans/{loan_id}/statement",
        params={"from": "2026-02-01", "to": "2026-02-28"},
        headers=ledger.auth(),
    )
    assert r.status_code == 200, r.text
    movements = r.json()["movements"]
    dates = [m["date"] for m in movements]
    assert dates == sorted(dates)
    # Every movement that touches the payment is on or after its value date.
    payment_moves = [m for m in movements if m["date"] < "2026-02-13" and m["total_minor"] < 0]
    assert payment_moves == []
