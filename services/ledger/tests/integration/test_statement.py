"""A statement for a period is derived from the journal: opening owed, movements, closing."""

from __future__ import annotations

from datetime import date

import pytest

from lendkit.auth import Role

from .conftest import Ledger


@pytest.fixture(scope="module")
def ledger(clock_ledger: Ledger) -> Ledger:
    """This module closes business days: a ledger of its own (see ``clock_ledger``)."""
    return clock_ledger


async def test_statement_shows_opening_movements_and_closing_from_the_journal(
    ledger: Ledger,
) -> None:
    # 3,000.00 CNY, 12 % a year, 3 months, equal principal, disbursed 2026-01-10.
    # Instalment 1 due 2026-02-10: principal 1,000.00 + interest 30.00 (300,000 x 1 %).
    product = await ledger.product()
    loan_id = await ledger.loan(product, borrower_id="B-statement")
    cob = await ledger.client.post(
        "/close-of-business",
        json={"business_date": "2026-02-10"},
        headers={**ledger.auth(), "Idempotency-Key": "statement-cob"},
    )
    assert cob.status_code == 200, cob.text
    paid = await ledger.pay(loan_id, 103_000, date(2026, 2, 10))
    assert paid.status_code == 201, paid.text

    r = await ledger.client.get(
        f"/loans/{loan_id}/statement",
        params={"from": "2026-02-01", "to": "2026-02-28"},
        headers=ledger.auth(Role.BORROWER, borrower_id="B-statement"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # Owed on 1 February: the principal disbursed on 10 January, nothing else yet.
    assert body["opening"] == {
        "principal_minor": 300_000,
        "interest_minor": 0,
        "penalty_minor": 0,
        "fee_minor": 0,
        "credit_minor": 0,
        "total_minor": 300_000,
    }
    changes = [
        (m["date"], m["principal_minor"], m["interest_minor"], m["total_minor"])
        for m in body["movements"]
    ]
    assert changes == [
        ("2026-02-10", 0, 3_000, 3_000),  # interest of instalment 1 falls due
        ("2026-02-10", -100_000, -3_000, -103_000),  # the payment
    ]
    assert body["closing"]["principal_minor"] == 200_000
    assert body["closing"]["interest_minor"] == 0
    assert body["closing"]["total_minor"] == 200_000


async def test_statement_period_must_be_ordered(ledger: Ledger) -> None:
    product = await ledger.product()
    loan_id = await ledger.loan(product)
    r = await ledger.client.get(
        f"/loans/{loan_id}/statement",
        params={"from": "2026-03-01", "to": "2026-02-01"},
        headers=ledger.auth(),
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
