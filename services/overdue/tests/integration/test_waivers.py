"""Penalty waivers are exact: spread over the instalments whose penalty they reduce
(oldest first), refused when they cannot apply whole, and recorded as the ledger booked
them. The loan is the worked example's: instalment 2 (77_830 principal) overdue from
2026-03-16, 39 + 39 = 78 assessed on it for 03-16 and 03-17; then its principal and
interest are paid (the penalty stays owed) and instalment 3 (79_000 principal) falls due
on 04-15: 39 + 40 = 79 assessed on it for 04-16 and 04-17 (79_000 * 0.0005 = 39.5 a day,
half-even with the carry: 40 then 39... the test reads the rows, not this comment)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts import ledger
from lendkit.contracts.money import Component, InstalmentBalance
from lendkit.testing import unique

from .conftest import World, balances_from, open_worked_example_loan, waivers_sent


async def _assessed_on(world: World, loan_id: str, seq: int) -> int:
    (row,) = await world.sql(
        "SELECT coalesce(sum(booked_minor), 0) FROM penalty_days WHERE loan_id = :l AND seq = :s",
        l=loan_id,
        s=seq,
    )
    return int(row[0])


async def _loan_on_two_instalments(world: World) -> tuple[str, list[ledger.InstalmentTerms]]:
    loan_id, borrower_id, terms = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 17))
    open_ = balances_from(terms, first_open=2)
    open_[0] = open_[0].model_copy(
        update={"principal_minor": 0, "interest_minor": 0, "penalty_minor": 78}
    )
    await world.publish(
        ledger.PaymentAllocated(
            loan_id=loan_id,
            payment_id=unique("pay"),
            value_date=date(2026, 3, 18),
            amount_minor=91_680,
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=open_,
        ),
        ledger.RepaymentDue(
            loan_id=loan_id,
            borrower_id=borrower_id,
            seq=3,
            due_date=date(2026, 4, 15),
            amount_due_minor=91_680,
            currency="CNY",
            balance=open_[1],
            business_date=date(2026, 4, 15),
        ),
    )
    await world.drain()
    await world.close_days(date(2026, 3, 18), date(2026, 4, 17))
    return loan_id, terms


async def test_waiver_across_instalments_is_spread_oldest_first_and_refused_beyond(
    world: World,
) -> None:
    loan_id, _ = await _loan_on_two_instalments(world)
    on_2, on_3 = await _assessed_on(world, loan_id, 2), await _assessed_on(world, loan_id, 3)
    assert on_2 == 78 and on_3 > 0
    async with world.client(roles=["ops"]) as ops:
        too_much = await ops.post(
            f"/loans/{loan_id}/penalty-waivers",
            json={"amount_minor": on_2 + on_3 + 1, "reason": "goodwill"},
            headers={"Idempotency-Key": "w0"},
        )
        before_any = await ops.post(
            f"/loans/{loan_id}/penalty-waivers",
            json={"amount_minor": 1, "reason": "goodwill", "business_date": "2026-03-15"},
            headers={"Idempotency-Key": "w1"},
        )
        spread = await ops.post(
            f"/loans/{loan_id}/penalty-waivers",
            json={"amount_minor": 100, "reason": "goodwill"},
            headers={"Idempotency-Key": "w2"},
        )
    for refused in (too_much, before_any):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert spread.status_code == 201, spread.text
    body = spread.json()
    assert [(p["seq"], p["amount_minor"]) for p in body["parts"]] == [(2, 78), (3, 22)]
    assert [(w["seq"], w["amount_minor"]) for _, w in await waivers_sent(world, loan_id)] == [
        (2, 78),
        (3, 22),
    ]
    assert body["penalty_owed_minor"] == on_2 + on_3 - 100


async def test_waiver_is_recorded_as_the_ledger_booked_it(world: World) -> None:
    """The ledger's ChargeBooked for each part is recorded on the waiver row; had it booked
    less than asked (20 of 22), the loan's waived total follows the ledger (98, not 100)."""
    loan_id, terms = await _loan_on_two_instalments(world)
    async with world.client(roles=["ops"]) as ops:
        spread = await ops.post(
            f"/loans/{loan_id}/penalty-waivers",
            json={"amount_minor": 100, "reason": "goodwill"},
            headers={"Idempotency-Key": "w"},
        )
    assert spread.status_code == 201, spread.text
    sent = [(i, w["seq"], w["amount_minor"]) for i, w in await waivers_sent(world, loan_id)]
    balances = [
        InstalmentBalance(
            seq=b.seq,
            due_date=b.due_date,
            principal_minor=b.principal_minor if b.seq > 2 else 0,
            interest_minor=b.interest_minor if b.seq > 2 else 0,
            penalty_minor=0,
            fee_minor=0,
        )
        for b in balances_from(terms, first_open=3)
    ]
    for (event_id, seq, amount), booked in zip(sent, (78, 20), strict=True):
        assert booked <= amount
        await world.publish(
            ledger.ChargeBooked(
                loan_id=loan_id,
                charge_id=unique("c"),
                source_event_id=event_id,
                seq=seq,
                component=Component.PENALTY,
                amount_minor=-booked,
                currency="CNY",
                business_date=date(2026, 4, 17),
                balances=balances,
            )
        )
    await world.drain()
    rows = await world.sql(
        "SELECT seq, amount_minor, booked_minor FROM penalty_waivers WHERE loan_id = :l "
        "ORDER BY seq",
        l=loan_id,
    )
    assert [tuple(r) for r in rows] == [(2, 78, 78), (3, 22, 20)]
    (waived,) = await world.sql(
        "SELECT waived_to_date_minor FROM loans WHERE loan_id = :l", l=loan_id
    )
    assert waived[0] == 98
