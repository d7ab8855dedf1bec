"""Payments over HTTP: idempotency under concurrency, back-dated replay, reversal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Ledger


from ledger.domain import LedgerComponent, Payment, replay_allocations
from ledger.domain.charges import net_charges
from lendkit.auth import Role
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.events import new_event
from lendkit.testing import eventually, read_events, unique


async def test_fifty_concurrent_posts_with_one_key_make_one_payment(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())
    headers = {**ledger.auth(Role.SERVICE), "Idempotency-Key": unique("same")}
    body = {"external_reference": unique("ref"), "amount_minor": 50_000, "value_date": "2026-02-10"}

    responses = await asyncio.gather(
        *(
            ledger.client.post(f"/loans/{loan_id}/payments", json=body, headers=headers)
            for _ in range(50)
        )
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    listed = await ledger.client.get(f"/loans/{loan_id}/payments", headers=ledger.auth())
    assert len(listed.json()["items"]) == 1


async def test_back_dated_payment_reallocates_later_payment(ledger: Ledger) -> None:
    # 3,000.00 CNY, 12% a year (1% a month), 3 months equal principal, disbursed 10 Jan:
    #   #1 due 10 Feb: principal 1,000.00 + interest 30.00 = 1,030.00
    #   #2 due 10 Mar: principal 1,000.00 + interest 20.00 = 1,020.00
    #   #3 due 10 Apr: principal 1,000.00 + interest 10.00 = 1,010.00
    loan_id = await ledger.loan(await ledger.product())

    # A: 1,050.00 with value date 12 Mar pays #1 (30.00 + 1,000.00) and #2's interest 20.00.
    a = await ledger.pay(loan_id, 105_000, date(2026, 3, 12), "A")
    assert a.status_code == 201, a.text
    assert a.json()["allocation"]["lines"] == [
        {"seq": 1, "component": "interest", "amount_minor": 3_000},
        {"seq": 1, "component": "principal", "amount_minor": 100_000},
        {"seq": 2, "component": "interest", "amount_minor": 2_000},
    ]

    # B arrives later but is back-dated to 10 Feb: 1,030.00 pays #1 in full. Replaying A
    # after it, A now pays #2 (20.00 + 1,000.00) and prepays #3 (10.00 interest, 20.00 principal).
    b = await ledger.pay(loan_id, 103_000, date(2026, 2, 10), "B")
    assert b.status_code == 201, b.text
    assert b.json()["allocation"]["lines"] == [
        {"seq": 1, "component": "interest", "amount_minor": 3_000},
        {"seq": 1, "component": "principal", "amount_minor": 100_000},
    ]
    assert b.json()["balances"] == [
        {
            "seq": 3,
            "due_date": "2026-04-10",
            "principal_minor": 98_000,
            "interest_minor": 0,
            "penalty_minor": 0,
            "fee_minor": 0,
        }
    ]
    payments = (await ledger.client.get(f"/loans/{loan_id}/payments", headers=ledger.auth())).json()
    a_now = next(p for p in payments["items"] if p["external_reference"] == "A")
    assert a_now["allocation"]["lines"] == [
        {"seq": 2, "component": "interest", "amount_minor": 2_000},
        {"seq": 2, "component": "principal", "amount_minor": 100_000},
        {"seq": 3, "component": "interest", "amount_minor": 1_000},
        {"seq": 3, "component": "principal", "amount_minor": 2_000},
    ]

    corrected = await read_events(
        ["ledger.loans"], count=1, keys=[loan_id], types=["ledger.payment.allocated.v1"]
    )
    events = await read_events(
        ["ledger.loans"], count=3, keys=[loan_id], types=["ledger.payment.allocated.v1"]
    )
    assert corrected
    reallocated = [e for e in events if b'"reallocation":true' in e.data]
    assert len(reallocated) == 1
    assert a_now["payment_id"].encode() in reallocated[0].data

    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    assert detail["balances"] == {
        "principal_minor": 98_000,
        "interest_minor": 0,
        "penalty_minor": 0,
        "fee_minor": 0,
        "credit_minor": 0,
    }
    assert [i["settled_on"] is not None for i in detail["schedule"]] == [True, True, False]
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon


async def test_reversal_reopens_what_the_payment_paid(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())
    paid = await ledger.pay(loan_id, 103_000, date(2026, 2, 10))
    payment_id = paid.json()["payment_id"]

    r = await ledger.client.post(
        f"/loans/{loan_id}/payments/{payment_id}/reversal",
        json={"reason": "chargeback", "business_date": "2026-02-20"},
        headers={**ledger.auth(Role.OPS), "Idempotency-Key": unique("k")},
    )

    assert r.status_code == 200, r.text
    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    assert detail["balances"]["principal_minor"] == 300_000
    assert detail["balances"]["interest_minor"] == 6_000
    owed = await ledger.client.get(
        f"/loans/{loan_id}/owed", params={"as_of": "2026-02-20"}, headers=ledger.auth()
    )
    assert owed.json()["total_minor"] == 103_000
    assert owed.json()["instalments"][0]["days_overdue"] == 10
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon


async def test_over_payment_is_held_as_credit(ledger: Ledger) -> None:
    loan_id = await ledger.loan(await ledger.product())

    r = await ledger.pay(loan_id, 310_000, date(2026, 2, 10))

    # Everything owed is 3,000.00 + 60.00 interest = 3,060.00; 40.00 is kept as credit.
    assert r.json()["allocation"]["credit_minor"] == 4_000
    detail = (await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())).json()
    assert detail["status"] == "settled"
    assert detail["balances"]["credit_minor"] == 4_000


async def test_payments_allocated_directly_leave_what_a_full_replay_gives(ledger: Ledger) -> None:
    # Same loan as above: #1 1,030.00 due 10 Feb, #2 1,020.00 due 10 Mar, #3 1,010.00 due 10 Apr.
    loan_id = await ledger.loan(await ledger.product())

    async def balances() -> dict[str, int]:
        detail = await ledger.client.get(f"/loans/{loan_id}", headers=ledger.auth())
        return dict(detail.json()["balances"])

    async def penalty(seq: int, amount: int, on: date) -> None:
        assessed = PenaltyAssessed(
            loan_id=loan_id,
            seq=seq,
            business_date=on,
            base_minor=100_000,
            daily_rate="0.0005",
            amount_minor=amount,
            currency="CNY",
        )
        await ledger.publish(new_event(assessed, source="overdue"))

    assert (await ledger.pay(loan_id, 50_000, date(2026, 2, 10))).status_code == 201
    await penalty(1, 500, date(2026, 2, 15))
    await eventually(lambda: _is(balances(), "penalty_minor", 500), timeout=30)
    # After the penalty's date, so allocated directly: penalty first, then what #1 still
    # owes, then #2 (not yet due) is prepaid.
    third = await ledger.pay(loan_id, 60_000, date(2026, 2, 20))
    assert third.json()["allocation"]["lines"] == [
        {"seq": 1, "component": "penalty", "amount_minor": 500},
        {"seq": 1, "component": "principal", "amount_minor": 53_000},
        {"seq": 2, "component": "interest", "amount_minor": 2_000},
        {"seq": 2, "component": "principal", "amount_minor": 4_500},
    ]
    assert (await ledger.pay(loan_id, 60_000, date(2026, 2, 20))).status_code == 201  # a tie
    settling = await ledger.pay(loan_id, 200_000, date(2026, 3, 1))
    assert settling.json()["allocation"]["credit_minor"] == 63_500
    await penalty(1, 300, date(2026, 3, 5))  # paid from the credit when booked
    await eventually(lambda: _is(balances(), "credit_minor", 63_200), timeout=30)
    last = await ledger.pay(loan_id, 1_000, date(2026, 3, 10))
    assert last.json()["allocation"] == {"lines": [], "credit_minor": 1_000}
    assert last.json()["credit_balance_minor"] == 64_200

    async with ledger.runtime.uow() as uow:  # read only: never committed
        state = await uow.loans.load(loan_id)
        assert state is not None
        replayed = replay_allocations(
            [i.contractual() for i in state.instalments],
            [
                Payment(p.payment_id, p.value_date, p.amount, p.receipt_order, p.reversed)
                for p in state.payments
            ],
            net_charges(state.charges),
            state.product.allocation_order,
        )
        expected = {("payment", a.payment.payment_id): a.result for a in replayed.payments}
        expected |= {
            ("credit", c.charge.charge_id): c.result
            for c in replayed.credit_applications
            if c.applied > 0
        }
        assert state.allocations == expected
        assert {i.seq: dict(i.outstanding) for i in state.instalments} == {
            d.seq: {c: d.owes(c) for c in LedgerComponent} for d in replayed.outstanding
        }
        assert state.loan.credit_balance == replayed.credit == 64_200
        assert state.loan.status == "settled"
    recon = (await ledger.client.get("/reconciliation", headers=ledger.auth())).json()
    assert recon["ok"], recon


async def _is(balances: Awaitable[dict[str, int]], component: str, amount: int) -> bool:
    return (await balances)[component] == amount
