"""History stays history: a closed day's explanation is what its close of business
recorded, whatever was paid later; a day not closed yet is marked provisional. The loan is
the worked example's (instalment 2, 77_830 principal + 13_850 interest, due 2026-03-15)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts import ledger
from lendkit.contracts.money import AllocationLine, Component
from lendkit.testing import unique

from .conftest import World, balances_from, open_worked_example_loan


async def test_closed_day_explanation_keeps_the_arrears_a_later_payment_cleared(
    world: World,
) -> None:
    loan_id, borrower_id, terms = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 20))
    await world.publish(
        ledger.PaymentAllocated(
            loan_id=loan_id,
            payment_id=unique("pay"),
            value_date=date(2026, 3, 21),
            amount_minor=91_680 + 234,
            currency="CNY",
            lines=[],
            credit_minor=0,
            credit_balance_minor=0,
            balances=balances_from(terms, first_open=3),
        )
    )
    await world.drain()
    async with world.client(roles=["borrower"], borrower_id=borrower_id) as borrower:
        closed = await borrower.get(f"/loans/{loan_id}/explanation?as_of=2026-03-20")
        not_closed = await borrower.get(f"/loans/{loan_id}/explanation?as_of=2026-03-21")
    assert closed.status_code == 200, closed.text
    past = closed.json()
    assert (past["days_past_due"], past["in_arrears"]) == (5, True)
    assert past["provisional"] is False
    assert past["overdue"]["principal_minor"] == 77_830
    assert past["overdue"]["interest_minor"] == 13_850
    assert past["oldest_unpaid_due_date"] == "2026-03-15"
    assert not_closed.status_code == 200, not_closed.text
    today = not_closed.json()
    assert (today["days_past_due"], today["provisional"]) == (0, True)


async def test_back_dated_payment_revises_the_closed_days_from_its_value_date(
    world: World,
) -> None:
    """Closed 03-15..03-20 with instalment 2 past due. A payment valued 03-18 (received
    later) pays its 39 + 39 + 39 penalty, 13_850 interest and 77_830 principal: as the
    ledger's owed?as_of does, 03-18 onwards are no longer past due; 03-17 still is."""
    loan_id, borrower_id, terms = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 20))
    await world.publish(
        ledger.PaymentAllocated(
            loan_id=loan_id,
            payment_id=unique("pay"),
            value_date=date(2026, 3, 18),
            amount_minor=91_680 + 117,
            currency="CNY",
            lines=[
                AllocationLine(seq=2, component=Component.PENALTY, amount_minor=117),
                AllocationLine(seq=2, component=Component.INTEREST, amount_minor=13_850),
                AllocationLine(seq=2, component=Component.PRINCIPAL, amount_minor=77_830),
            ],
            credit_minor=0,
            credit_balance_minor=0,
            balances=balances_from(terms, first_open=3),
        )
    )
    await world.drain()
    async with world.client(roles=["borrower"], borrower_id=borrower_id) as borrower:
        before = (await borrower.get(f"/loans/{loan_id}/explanation?as_of=2026-03-17")).json()
        on = (await borrower.get(f"/loans/{loan_id}/explanation?as_of=2026-03-18")).json()
        after = (await borrower.get(f"/loans/{loan_id}/explanation?as_of=2026-03-20")).json()
    assert (before["days_past_due"], before["overdue"]["principal_minor"]) == (2, 77_830)
    assert (on["days_past_due"], on["overdue"]["total_minor"], on["provisional"]) == (0, 0, False)
    assert (after["days_past_due"], after["in_arrears"]) == (0, False)
