"""Ledger and overdue together: a payment valued on or before days already closed unwinds
the penalty days it would have prevented, through the ledger, and both services end up
with the same penalty.

Worked example (numbers by hand): 10,000.00 CNY, 12 months, 18 % a year, annuity,
disbursed 2026-06-10; instalment 1 due 2026-07-10: principal 766.80, interest 150.00.
Penalty 0.05 % a day on overdue principal: 76,680 x 0.0005 = 38.34 fen a day, booked with
the carry: 38, 39, 38 for 07-11, 07-12, 07-13 (115 fen). After the close of 07-13 a payment
valued 07-12 of 1,000.00 arrives: it pays instalment 1 whole (the penalty charged by then
first, then 150.00 interest and 766.80 principal), so on 07-12 and 07-13 nothing would have
been overdue: 39 + 38 = 77 fen are waived (each day's part dated that day) and 38 fen
(07-11) stay charged, in the ledger and in the overdue service alike.

(The dates come after the other end-to-end tests' days: the platform's business clock
never goes back, and a day already closed is not closed again.)
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from lendkit.testing import eventually

from .conftest import Platform, close_business_days, open_loan


def _penalty_net(journal: list[dict[str, Any]]) -> int:
    booked = sum(
        line["debit_minor"] for e in journal if e["memo"] == "penalty booked" for line in e["lines"]
    )
    waived = sum(
        line["debit_minor"] for e in journal if e["memo"] == "penalty waived" for line in e["lines"]
    )
    return int(booked - waived)


async def test_back_dated_payment_unwinds_penalty_days_in_both_services(
    platform: Platform,
) -> None:
    ledger, overdue = platform["ledger"], platform["overdue"]
    loan_id = f"E2E-L-{uuid.uuid4().hex[:8]}"
    product = {
        "code": f"E2E-{uuid.uuid4().hex[:6]}",
        "currency": "CNY",
        "annual_rate": "0.18",
        "term": 12,
        "overdue_policy": {"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
    }
    loan = {
        "loan_id": loan_id,
        "borrower_id": "B-e2e-2",
        "product_code": product["code"],
        "principal_minor": 1_000_000,
        "disbursed_on": "2026-06-10",
    }
    first = (await open_loan(ledger, product, loan))["instalments"][0]
    assert (first["due_date"], first["principal_minor"], first["interest_minor"]) == (
        "2026-07-10",
        76_680,
        15_000,
    )

    await close_business_days(ledger, date(2026, 7, 10), date(2026, 7, 13))

    async def journal() -> list[dict[str, Any]]:
        r = await ledger.client.get(f"/loans/{loan_id}/journal", headers=ledger.ops)
        return list(r.json()["items"])

    async def penalty_booked() -> bool:
        return _penalty_net(await journal()) == 115

    await eventually(penalty_booked, timeout=60)

    payment: dict[str, Any] = {
        "external_reference": "bank-b1",
        "amount_minor": 100_000,
        "value_date": "2026-07-12",
        "back_dated": True,  # before the last closed day: ops must say so
    }
    r = await ledger.client.post(
        f"/loans/{loan_id}/payments",
        json=payment,
        headers={**ledger.ops, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text

    async def unwound() -> bool:
        return _penalty_net(await journal()) == 38

    await eventually(unwound, timeout=60)

    async def overdue_agrees() -> bool:
        r = await overdue.client.get(
            f"/loans/{loan_id}/explanation", params={"as_of": "2026-07-13"}, headers=overdue.ops
        )
        body = r.json()
        return bool(
            (body["penalty_booked_minor"], body["penalty_waived_minor"]) == (115, 77)
            and body["penalty_owed_minor"] == 38
        )

    await eventually(overdue_agrees, timeout=60)

    # and both services tell the same story about each closed day: 07-11 (before the
    # payment's value date) overdue by a day on 766.80 principal; 07-13 nothing past due
    for day, dpd, principal in (("2026-07-11", 1, 76_680), ("2026-07-13", 0, 0)):
        owed = (
            await ledger.client.get(
                f"/loans/{loan_id}/owed", params={"as_of": day}, headers=ledger.ops
            )
        ).json()
        past_due = [i for i in owed["instalments"] if i["days_overdue"] > 0]
        explained = (
            await overdue.client.get(
                f"/loans/{loan_id}/explanation", params={"as_of": day}, headers=overdue.ops
            )
        ).json()
        assert max((i["days_overdue"] for i in past_due), default=0) == dpd, owed
        assert sum(i["amounts"]["principal_minor"] for i in past_due) == principal, owed
        assert (explained["days_past_due"], explained["provisional"]) == (dpd, False)
        assert explained["overdue"]["principal_minor"] == principal, explained
    reconciliation = (await ledger.client.get("/reconciliation", headers=ledger.ops)).json()
    assert reconciliation["ok"] is True, reconciliation
