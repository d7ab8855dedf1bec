"""Replaying allocations: back-dated payments, reversals, credit and late charges."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.allocation import AllocationLine, AllocationResult, InstalmentDue
from ledger.domain.component import LedgerComponent
from ledger.domain.errors import InvalidAllocation
from ledger.domain.replay import Charge, Payment, replay_allocations
from ledger.domain.resettlement import PAYMENT, allocation_changes

PEN, FEE, INT, PRI = (
    LedgerComponent.PENALTY,
    LedgerComponent.FEE,
    LedgerComponent.INTEREST,
    LedgerComponent.PRINCIPAL,
)

# Two instalments of a CNY loan (amounts in fen).
SCHEDULED = (
    InstalmentDue(1, date(2026, 3, 15), {INT: 15_000, PRI: 80_012}),  # 950.12 due 15 Mar
    InstalmentDue(2, date(2026, 4, 15), {INT: 13_800, PRI: 81_212}),  # 950.12 due 15 Apr
)
# Instalment 1 was missed; the overdue service booked a 12.34 penalty on 20 March.
PENALTY = Charge(1, PEN, 1_234, date(2026, 3, 20), "pen-1")
# Received first: 500.00 value-dated 25 March.
LATE = Payment("pay-A", date(2026, 3, 25), 50_000, receipt_order=1)
# Received second (a delayed bank file) but value-dated 18 March: 600.00.
BACK_DATED = Payment("pay-B", date(2026, 3, 18), 60_000, receipt_order=2)


def test_without_the_back_dated_payment_the_late_one_pays_penalty_interest_principal() -> None:
    replay = replay_allocations(SCHEDULED, [LATE], [PENALTY])
    # 50_000 on 25 March: penalty 1_234, interest 15_000, principal 33_766 of instalment 1.
    assert replay.for_payment("pay-A").lines == (
        AllocationLine(1, PEN, 1_234),
        AllocationLine(1, INT, 15_000),
        AllocationLine(1, PRI, 33_766),
    )


def test_back_dated_payment_reruns_allocation_from_its_value_date() -> None:
    replay = replay_allocations(SCHEDULED, [LATE, BACK_DATED], [PENALTY])

    # pay-B runs first (18 March). Instalment 1 is due; the penalty is not booked
    # until 20 March so pay-B cannot pay it: interest 15_000, principal 45_000.
    assert replay.for_payment("pay-B").lines == (
        AllocationLine(1, INT, 15_000),
        AllocationLine(1, PRI, 45_000),
    )
    # The penalty joins on 20 March. pay-A (25 March) now pays the penalty 1_234 and the
    # rest of instalment 1's principal 35_012 (80_012 - 45_000), leaving 13_754
    # (50_000 - 1_234 - 35_012) for instalment 2 (not yet due): its interest first.
    assert replay.for_payment("pay-A").lines == (
        AllocationLine(1, PEN, 1_234),
        AllocationLine(1, PRI, 35_012),
        AllocationLine(2, INT, 13_754),
    )
    assert [a.payment.payment_id for a in replay.payments] == ["pay-B", "pay-A"]
    # Instalment 1 settled; instalment 2 still owes interest 46 (13_800 - 13_754) and
    # all its principal 81_212.
    first, second = replay.outstanding
    assert first.total == 0
    assert (second.owes(INT), second.owes(PRI)) == (46, 81_212)
    assert replay.credit == 0


def test_reversed_payments_are_left_out_of_the_replay() -> None:
    bounced = Payment("pay-B", date(2026, 3, 18), 60_000, receipt_order=2, reversed=True)
    replay = replay_allocations(SCHEDULED, [LATE, bounced], [PENALTY])
    assert [a.payment.payment_id for a in replay.payments] == ["pay-A"]
    assert replay.for_payment("pay-A").lines[-1] == AllocationLine(1, PRI, 33_766)
    with pytest.raises(KeyError):
        replay.for_payment("pay-B")


def test_same_value_date_ties_break_by_receipt_order() -> None:
    first = Payment("z-first", date(2026, 3, 18), 10_000, receipt_order=1)
    second = Payment("a-second", date(2026, 3, 18), 10_000, receipt_order=2)
    replay = replay_allocations(SCHEDULED, [second, first])
    assert [a.payment.payment_id for a in replay.payments] == ["z-first", "a-second"]
    assert replay.for_payment("z-first").lines == (AllocationLine(1, INT, 10_000),)


def test_over_payment_credit_pays_a_charge_booked_later() -> None:
    # The whole loan (95_012 + 95_012 = 190_024) is paid on 10 March with 200_000:
    # 9_976 is held as credit. A 50.00 fee booked on 1 April is paid from that credit.
    payoff = Payment("pay-all", date(2026, 3, 10), 200_000)
    fee = Charge(2, FEE, 5_000, date(2026, 4, 1), "fee-1")
    replay = replay_allocations(SCHEDULED, [payoff], [fee])
    assert replay.for_payment("pay-all").credit == 9_976
    (application,) = replay.credit_applications
    assert application.charge == fee
    assert application.result.lines == (AllocationLine(2, FEE, 5_000),)
    assert application.applied == 5_000
    assert replay.credit == 4_976  # 9_976 - 5_000, still held for the borrower
    assert all(i.total == 0 for i in replay.outstanding)


def test_credit_is_applied_to_a_charge_before_the_next_payment() -> None:
    payoff = Payment("pay-all", date(2026, 3, 10), 191_024)  # 1_000 over
    penalty = Charge(2, PEN, 1_500, date(2026, 4, 20), "pen-2")
    later = Payment("pay-more", date(2026, 4, 25), 700)
    replay = replay_allocations(SCHEDULED, [later, payoff], [penalty])
    # The 1_000 credit pays 1_000 of the penalty on 20 April; pay-more pays the last 500
    # and 200 becomes credit again.
    assert replay.credit_applications[0].result.lines == (AllocationLine(2, PEN, 1_000),)
    assert replay.for_payment("pay-more").lines == (AllocationLine(2, PEN, 500),)
    assert replay.for_payment("pay-more").credit == 200
    assert replay.credit == 200


def test_invalid_replay_inputs_are_rejected() -> None:
    with pytest.raises(InvalidAllocation, match="duplicate payment"):
        replay_allocations(SCHEDULED, [LATE, LATE])
    with pytest.raises(InvalidAllocation, match="unknown instalment"):
        replay_allocations(SCHEDULED, [LATE], [Charge(9, PEN, 1, date(2026, 3, 1))])
    with pytest.raises(InvalidAllocation, match="positive"):
        Payment("p", date(2026, 3, 1), 0)
    with pytest.raises(InvalidAllocation, match="positive"):
        Charge(1, PEN, 0, date(2026, 3, 1))


# --- properties ---------------------------------------------------------------

START = date(2026, 1, 1)


@st.composite
def replay_inputs(draw: st.DrawFn) -> tuple[list[InstalmentDue], list[Payment], list[Charge]]:
    count = draw(st.integers(min_value=1, max_value=6))
    scheduled = [
        InstalmentDue(
            seq,
            START + timedelta(days=30 * seq),
            {
                INT: draw(st.integers(min_value=0, max_value=20_000)),
                PRI: draw(st.integers(min_value=0, max_value=100_000)),
            },
        )
        for seq in range(1, count + 1)
    ]
    days = st.integers(min_value=0, max_value=30 * (count + 2)).map(
        lambda d: START + timedelta(days=d)
    )
    payments = [
        Payment(
            f"p{n}",
            draw(days),
            draw(st.integers(1, 150_000)),
            receipt_order=n,
            reversed=draw(st.booleans()),
        )
        for n in range(draw(st.integers(min_value=0, max_value=8)))
    ]
    charges = [
        Charge(
            draw(st.integers(1, count)),
            draw(st.sampled_from([PEN, FEE])),
            draw(st.integers(1, 5_000)),
            draw(days),
        )
        for _ in range(draw(st.integers(min_value=0, max_value=5)))
    ]
    return scheduled, payments, charges


@settings(max_examples=300)
@given(inputs=replay_inputs())
def test_replay_preserves_every_minor_unit_paid_and_owed(
    inputs: tuple[list[InstalmentDue], list[Payment], list[Charge]],
) -> None:
    scheduled, payments, charges = inputs
    replay = replay_allocations(scheduled, payments, charges)
    live = [p for p in payments if not p.reversed]
    received = sum(p.amount for p in live)
    to_instalments = sum(a.result.allocated for a in replay.payments) + sum(
        c.applied for c in replay.credit_applications
    )
    # Money in = money applied to instalments + credit still held.
    assert received == to_instalments + replay.credit
    # Each payment on its own: lines + credit == amount.
    for allocation in replay.payments:
        assert allocation.result.amount == allocation.payment.amount
    # Debt: scheduled + charges == paid + still outstanding.
    debt = sum(i.total for i in scheduled) + sum(c.amount for c in charges)
    assert debt == to_instalments + sum(i.total for i in replay.outstanding)
    # Credit is only held when nothing at all is outstanding.
    if replay.credit > 0:
        assert all(i.total == 0 for i in replay.outstanding)
    # Value-date order.
    dates = [(a.payment.value_date, a.payment.receipt_order) for a in replay.payments]
    assert dates == sorted(dates)


@given(inputs=replay_inputs())
def test_no_payment_pays_a_charge_booked_after_its_value_date(
    inputs: tuple[list[InstalmentDue], list[Payment], list[Charge]],
) -> None:
    scheduled, payments, charges = inputs
    replay = replay_allocations(scheduled, payments, charges)
    for allocation in replay.payments:
        payable: dict[tuple[int, LedgerComponent], int] = {}
        for charge in charges:
            if charge.booked_on <= allocation.payment.value_date:
                key = (charge.seq, charge.component)
                payable[key] = payable.get(key, 0) + charge.amount
        for line in allocation.result.lines:
            if line.component in (PEN, FEE):
                assert line.amount <= payable.get((line.seq, line.component), 0)


def test_re_allocations_are_posted_in_replay_order_whatever_the_payment_ids() -> None:
    """Two loans booked alike post the same journal: the corrections follow the replay
    (value date, then arrival), not the payments' random ids."""

    def paid(amount: int, component: LedgerComponent) -> AllocationResult:
        return AllocationResult((AllocationLine(1, component, amount),))

    on = date(2026, 4, 10)
    for first, second in (("z-late-id", "a-early-id"), ("a-early-id", "z-late-id")):
        stored = {
            (PAYMENT, first): paid(445, LedgerComponent.INTEREST),
            (PAYMENT, second): paid(500, LedgerComponent.INTEREST),
        }
        fresh = {
            (PAYMENT, first): paid(445, LedgerComponent.PRINCIPAL),
            (PAYMENT, second): paid(500, LedgerComponent.PRINCIPAL),
        }
        found = allocation_changes(stored, fresh, {first: on, second: on}, on, "CNY")
        assert found.changed_payments == [first, second]
        amounts = [e.lines[0].debit or e.lines[0].credit for e in found.entries]
        assert amounts == [445, 445, 500, 500]
