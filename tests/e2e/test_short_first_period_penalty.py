"""Ledger and overdue together: a loan with a 5-day first period that goes overdue gets its
penalty; the annual cost ceiling counts the interest the ledger really charged for those
5 days, not a whole month's.

Worked example (numbers by hand): 12,000.00 CNY, 12 % a year, 12 months, annuity, ACT_365,
disbursed 2026-05-27, first due 2026-06-01 (5 days). Instalment 1: principal 946.19 (the
regular schedule's), interest 1_200_000 * 0.12 * 5 / 365 = 1972.60 -> 19.73 (a whole month
would be 120.00). It is never paid. Penalty 0.05 % a day on overdue principal:
94_619 * 0.0005 = 47.3095 fen a day, booked with the rounding carried: 47, 48, 47, 47, 48
for 2026-06-02 .. 06-06 (DPD 1..5) = 237 fen.
Ceiling 24 % a year on 12,000.00, from 2026-05-27 inclusive: on 06-02 (7 days)
1_200_000 * 0.24 * 7 / 365 = 5523.28 -> 5523 >= 1973 interest + 47 penalty, so nothing is
forgone. With a month's interest (12_000 > 5523) the ceiling took every fen of it until
day 16.

Its dates follow the other e2e module's (the business clock never goes back), and this file
sorts after it.
"""

from __future__ import annotations

import uuid
from datetime import date

from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.testing import eventually, read_events

from .conftest import Platform, close_business_days, open_loan


async def test_short_first_period_loan_going_overdue_gets_its_penalty(
    platform: Platform,
) -> None:
    ledger, overdue = platform["ledger"], platform["overdue"]
    code = f"E2E-{uuid.uuid4().hex[:6]}"
    loan_id = f"E2E-L-{uuid.uuid4().hex[:8]}"
    product = {
        "code": code,
        "currency": "CNY",
        "annual_rate": "0.12",
        "term": 12,
        "schedule_type": "ANNUITY",
        "day_count": "ACT_365",
        "overdue_policy": {"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
    }
    loan = {
        "loan_id": loan_id,
        "borrower_id": "B-e2e-short",
        "product_code": code,
        "principal_minor": 1_200_000,
        "disbursed_on": "2026-05-27",
        "first_due_date": "2026-06-01",
    }
    disbursed = await open_loan(ledger, product, loan)
    first = disbursed["instalments"][0]
    assert (first["principal_minor"], first["interest_minor"]) == (94_619, 1_973)

    await close_business_days(ledger, date(2026, 6, 1), date(2026, 6, 6))

    topic = platform.namespace + "overdue.loans"

    async def penalty_booked() -> bool:
        detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.ops)).json()
        return bool(detail["schedule"][0]["outstanding"]["penalty_minor"] == 237)

    await eventually(penalty_booked, timeout=60)

    assessed = [
        e.payload(PenaltyAssessed)
        for e in await read_events(
            [topic], count=5, keys=[loan_id], types=["overdue.penalty.assessed.v1"]
        )
    ]
    assert [(p.business_date.day, p.amount_minor, p.seq) for p in assessed] == [
        (2, 47, 1),
        (3, 48, 1),
        (4, 47, 1),
        (5, 47, 1),
        (6, 48, 1),
    ]

    explanation = await overdue.client.get(
        f"/loans/{loan_id}/explanation", params={"as_of": "2026-06-06"}, headers=overdue.ops
    )
    assert explanation.status_code == 200, explanation.text
    body = explanation.json()
    assert body["cap_applied"] is None
    assert [(d["booked_minor"], d["forgone_minor"]) for d in body["penalty_days"]] == [
        (47, 0),
        (48, 0),
        (47, 0),
        (47, 0),
        (48, 0),
    ]
    assert body["overdue"]["interest_minor"] == 1_973
