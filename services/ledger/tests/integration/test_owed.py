"""'What do I owe today and why', also for a past date: payments and charges dated later
do not count."""

from __future__ import annotations

from datetime import date

from lendkit.auth import Role

from .conftest import Ledger


async def test_owed_on_a_past_date_ignores_payments_dated_later(ledger: Ledger) -> None:
    # 3,000.00 CNY, 12 % a year, 3 months, equal principal, disbursed 2026-01-10:
    # instalment 1 is 1,000.00 + 30.00 due 2026-02-10, paid late on 2026-02-20.
    product = await ledger.product()
    loan_id = await ledger.loan(product, borrower_id="B-owed")
    assert (await ledger.pay(loan_id, 103_000, date(2026, 2, 20))).status_code == 201
    borrower = ledger.auth(Role.BORROWER, borrower_id="B-owed")

    before = await ledger.client.get(
        f"/loans/{loan_id}/owed", params={"as_of": "2026-02-15"}, headers=borrower
    )
    assert before.status_code == 200, before.text
    body = before.json()
    assert body["total_minor"] == 103_000
    assert body["by_component"]["principal_minor"] == 100_000
    assert body["by_component"]["interest_minor"] == 3_000
    [line] = body["instalments"]
    assert (line["seq"], line["days_overdue"]) == (1, 5)
    assert "2026-02-10" in line["reason"]

    after = await ledger.client.get(
        f"/loans/{loan_id}/owed", params={"as_of": "2026-02-21"}, headers=borrower
    )
    assert after.json()["total_minor"] == 0
    assert after.json()["instalments"] == []
    assert after.json()["not_yet_due_minor"] == 200_000 + 2_000 + 1_000


async def test_someone_elses_owed_is_not_found(ledger: Ledger) -> None:
    product = await ledger.product()
    loan_id = await ledger.loan(product, borrower_id="B-owner")
    r = await ledger.client.get(
        f"/loans/{loan_id}/owed", headers=ledger.auth(Role.BORROWER, borrower_id="B-other")
    )
    assert r.status_code == 404
