"""Ledger and overdue together over Kafka: a missed instalment's penalty is assessed by the
overdue service, booked by the ledger, and paid first by the next payment.

Worked example (numbers by hand): 10,000.00 CNY, 12 months, 18 % a year, annuity.
Instalment 2 is due 2026-03-15: principal 778.30, interest 138.50. Arrears grace 3 days,
penalty 0.05 % a day on overdue principal: 77,830 x 0.0005 = 38.915 fen a day, booked with
the rounding carried: 39, 39, 39, 39, 39 for 2026-03-16 .. 03-20 (DPD 1..5) = 195 fen.
A payment of 100.00 on 2026-03-21 pays the 1.95 penalty first, then 98.05 of interest.
"""

from __future__ import annotations

import uuid
from datetime import date

from lendkit.contracts.overdue import LoanBecameOverdue, PenaltyAssessed
from lendkit.testing import eventually, read_events

from .conftest import Platform, close_business_days, open_loan


async def test_penalty_is_booked_by_the_ledger_and_paid_first_by_the_next_payment(
    platform: Platform,
) -> None:
    ledger, overdue = platform["ledger"], platform["overdue"]
    code = f"E2E-{uuid.uuid4().hex[:6]}"
    loan_id = f"E2E-L-{uuid.uuid4().hex[:8]}"
    product = {
        "code": code,
        "currency": "CNY",
        "annual_rate": "0.18",
        "term": 12,
        "overdue_policy": {"arrears_grace_days": 3, "penalty_daily_rate": "0.0005"},
    }
    loan = {
        "loan_id": loan_id,
        "borrower_id": "B-e2e-1",
        "product_code": code,
        "principal_minor": 1_000_000,
        "disbursed_on": "2026-01-15",
    }
    disbursed = await open_loan(ledger, product, loan)
    schedule = disbursed["instalments"]
    assert (schedule[1]["principal_minor"], schedule[1]["interest_minor"]) == (77_830, 13_850)

    paid = await ledger.client.post(
        f"/loans/{loan_id}/payments",
        json={"external_reference": "bank-1", "amount_minor": 91_680, "value_date": "2026-02-15"},
        headers={**ledger.ops, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid.status_code == 201, paid.text

    await close_business_days(ledger, date(2026, 3, 15), date(2026, 3, 20))

    async def penalty_booked() -> bool:
        detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.ops)).json()
        return bool(detail["schedule"][1]["outstanding"]["penalty_minor"] == 195)

    await eventually(penalty_booked, timeout=60)

    topic = platform.namespace + "overdue.loans"
    assessed = [
        e.payload(PenaltyAssessed)
        for e in await read_events(
            [topic], count=5, types=["overdue.penalty.assessed.v1"], timeout=20
        )
        if e.key == loan_id
    ]
    assert [(p.business_date.day, p.amount_minor, p.seq) for p in assessed] == [
        (16, 39, 2),
        (17, 39, 2),
        (18, 39, 2),
        (19, 39, 2),
        (20, 39, 2),
    ]
    overdue_events = await read_events([topic], count=1, types=["overdue.loan.became_overdue.v1"])
    became = [e.payload(LoanBecameOverdue) for e in overdue_events if e.key == loan_id]
    assert [(b.business_date, b.days_past_due) for b in became] == [(date(2026, 3, 19), 4)]

    r = await ledger.client.post(
        f"/loans/{loan_id}/payments",
        json={"external_reference": "bank-2", "amount_minor": 10_000, "value_date": "2026-03-21"},
        headers={**ledger.ops, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    lines = [(x["seq"], x["component"], x["amount_minor"]) for x in r.json()["allocation"]["lines"]]
    assert lines == [(2, "penalty", 195), (2, "interest", 9_805)]

    reconciliation = (await ledger.client.get("/reconciliation", headers=ledger.ops)).json()
    assert reconciliation["ok"] is True, reconciliation

    explanation = await overdue.client.get(
        f"/loans/{loan_id}/explanation", params={"as_of": "2026-03-20"}, headers=overdue.ops
    )
    assert explanation.status_code == 200, explanation.text
