"""Read models ignore stale facts: a ledger event older (by ``loan_version``) than the
balances already applied changes nothing, so a replayed dead letter never rolls state
back. The loan is the worked example's (instalment 2 due 2026-03-15, unpaid)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts import ledger
from lendkit.testing import unique

from .conftest import World, balances_from, open_worked_example_loan


async def _oldest_unpaid(world: World, loan_id: str) -> date | None:
    ((oldest,),) = await world.sql(
        "SELECT oldest_unpaid_due_date FROM loans WHERE loan_id = :l", l=loan_id
    )
    return oldest  # type: ignore[no-any-return]


async def test_replayed_older_ledger_event_never_rolls_the_read_model_back(world: World) -> None:
    loan_id, _, terms = await open_worked_example_loan(world)
    owed = balances_from(terms, first_open=2)
    paid = balances_from(terms, first_open=3)
    # version 7: the reversal of an earlier payment (instalment 2 owed again); it failed,
    # went to the dead-letter topic and is replayed after version 8 (instalment 2 paid).
    reversal = ledger.PaymentReversed(
        loan_id=loan_id,
        payment_id=unique("pay"),
        reason="chargeback",
        currency="CNY",
        credit_balance_minor=0,
        balances=owed,
        loan_version=7,
    )
    payment = ledger.PaymentAllocated(
        loan_id=loan_id,
        payment_id=unique("pay"),
        value_date=date(2026, 3, 16),
        amount_minor=91_680,
        currency="CNY",
        lines=[],
        credit_minor=0,
        credit_balance_minor=0,
        balances=paid,
        loan_version=8,
    )
    await world.publish(payment)
    await world.drain()
    assert await _oldest_unpaid(world, loan_id) == date(2026, 4, 15)
    await world.publish(reversal)  # the replayed dead letter
    await world.drain()
    assert await _oldest_unpaid(world, loan_id) == date(2026, 4, 15)
    # a newer fact still applies
    await world.publish(reversal.model_copy(update={"loan_version": 9}))
    await world.drain()
    assert await _oldest_unpaid(world, loan_id) == date(2026, 3, 15)
    assert await world.sql("SELECT ledger_version FROM loans WHERE loan_id = :l", l=loan_id) == [
        (9,)
    ]
