"""Read models ignore stale facts: a ledger event older (by ``loan_version``) than the
balances already applied changes nothing, so a replayed dead letter never rolls state
back; a back-dated payment unwinds the penalty days it would have prevented. The loan is the worked example's (instalment 2 due 2026-03-15, unpaid)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts import ledger
from lendkit.contracts.money import AllocationLine, Component
from lendkit.testing import unique

from .conftest import World, balances_from, open_worked_example_loan, waivers_sent


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


async def test_back_dated_payment_unwinds_the_penalty_days_it_would_have_prevented(
    world: World,
) -> None:
    """39 booked for each of 03-16, 03-17, 03-18 (38.915 a day on 77_830). A payment valued
    03-17 arrives after the close of 03-18: it pays the 39 of 03-16, the 13_850 interest and
    the 77_830 principal. Had it been known, 03-17 and 03-18 would not have accrued: both
    are waived through the ledger (one overdue.penalty.waived.v1 each, dated that day);
    03-16 stays owed."""
    loan_id, _, terms = await open_worked_example_loan(world)
    await world.close_days(date(2026, 3, 15), date(2026, 3, 18))
    balances = balances_from(terms, first_open=2)
    balances[0] = balances[0].model_copy(
        update={"principal_minor": 0, "interest_minor": 0, "penalty_minor": 78}
    )
    payment = ledger.PaymentAllocated(
        loan_id=loan_id,
        payment_id=unique("pay"),
        value_date=date(2026, 3, 17),
        amount_minor=91_719,
        currency="CNY",
        lines=[
            AllocationLine(seq=2, component=Component.PENALTY, amount_minor=39),
            AllocationLine(seq=2, component=Component.INTEREST, amount_minor=13_850),
            AllocationLine(seq=2, component=Component.PRINCIPAL, amount_minor=77_830),
        ],
        credit_minor=0,
        credit_balance_minor=0,
        balances=balances,
    )
    await world.publish(payment)
    await world.drain()
    sent = [w for _, w in await waivers_sent(world, loan_id)]
    assert [(w["seq"], w["business_date"], w["amount_minor"]) for w in sent] == [
        (2, "2026-03-17", 39),
        (2, "2026-03-18", 39),
    ]
    (loan,) = await world.sql(
        "SELECT assessed_to_date_minor, waived_to_date_minor FROM loans WHERE loan_id = :l",
        l=loan_id,
    )
    assert tuple(loan) == (117, 78)
    # a second payment valued 03-17 (the ledger had it pay the same principal, say, after
    # a reversal): 03-17 and 03-18 are unwound already, 03-16 came before it: nothing more
    await world.publish(payment.model_copy(update={"payment_id": unique("pay")}))
    await world.drain()
    assert len(await waivers_sent(world, loan_id)) == 2
