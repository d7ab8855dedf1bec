"""Allocation of one payment: order, credit, and conservation of every minor unit."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.allocation import (
    AllocationLine,
    AllocationOrder,
    AllocationStrategy,
    InstalmentDue,
    allocate_payment,
    apply_allocation,
)
from ledger.domain.component import LedgerComponent
from ledger.domain.errors import InvalidAllocation

PEN, FEE, INT, PRI = (
    LedgerComponent.PENALTY,
    LedgerComponent.FEE,
    LedgerComponent.INTEREST,
    LedgerComponent.PRINCIPAL,
)
HORIZONTAL = AllocationOrder(AllocationStrategy.HORIZONTAL)


def _two_overdue_instalments() -> list[InstalmentDue]:
    return [
        InstalmentDue(1, date(2026, 2, 15), {PEN: 1_234, FEE: 500, INT: 15_000, PRI: 76_680}),
        InstalmentDue(2, date(2026, 3, 15), {PEN: 300, INT: 13_850, PRI: 77_830}),
    ]


def test_default_order_settles_the_oldest_instalment_penalty_fee_interest_principal() -> None:
    # 100_000: instalment 1 owes 1_234 + 500 + 15_000 + 76_680 = 93_414, the rest 6_586
    # goes to instalment 2: penalty 300, then interest 6_286.
    result = allocate_payment(100_000, _two_overdue_instalments())
    assert result.lines == (
        AllocationLine(1, PEN, 1_234),
        AllocationLine(1, FEE, 500),
        AllocationLine(1, INT, 15_000),
        AllocationLine(1, PRI, 76_680),
        AllocationLine(2, PEN, 300),
        AllocationLine(2, INT, 6_286),
    )
    assert result.credit == 0
    assert result.amount == 100_000


def test_horizontal_order_pays_each_component_across_instalments_first() -> None:
    # Penalties 1_234 + 300, fee 500, interest 15_000 + 13_850 = 30_884;
    # the remaining 69_116 goes to the oldest principal.
    result = allocate_payment(100_000, _two_overdue_instalments(), HORIZONTAL)
    assert result.lines == (
        AllocationLine(1, PEN, 1_234),
        AllocationLine(2, PEN, 300),
        AllocationLine(1, FEE, 500),
        AllocationLine(1, INT, 15_000),
        AllocationLine(2, INT, 13_850),
        AllocationLine(1, PRI, 69_116),
    )


def test_component_order_is_configurable() -> None:
    interest_first = AllocationOrder(components=(INT, PRI, PEN, FEE))
    result = allocate_payment(20_000, _two_overdue_instalments(), interest_first)
    assert result.lines == (AllocationLine(1, INT, 15_000), AllocationLine(1, PRI, 5_000))


def test_due_instalments_are_paid_before_not_yet_due_ones() -> None:
    instalments = [
        InstalmentDue(3, date(2026, 4, 15), {INT: 12_682, PRI: 78_998}),
        InstalmentDue(2, date(2026, 3, 15), {PEN: 300, INT: 13_850, PRI: 77_830}),
    ]
    # Paid on 20 March: instalment 2 (due) first, then instalment 3 (not yet due).
    result = allocate_payment(100_000, instalments, value_date=date(2026, 3, 20))
    assert result.lines == (
        AllocationLine(2, PEN, 300),
        AllocationLine(2, INT, 13_850),
        AllocationLine(2, PRI, 77_830),
        AllocationLine(3, INT, 8_020),
    )


def test_horizontal_finishes_due_instalments_before_touching_future_ones() -> None:
    instalments = [
        InstalmentDue(1, date(2026, 2, 15), {INT: 100, PRI: 1_000}),
        InstalmentDue(2, date(2026, 3, 15), {INT: 90, PRI: 1_010}),
    ]
    result = allocate_payment(1_150, instalments, HORIZONTAL, value_date=date(2026, 2, 20))
    assert result.lines == (
        AllocationLine(1, INT, 100),
        AllocationLine(1, PRI, 1_000),
        AllocationLine(2, INT, 50),
    )


def test_over_payment_beyond_everything_outstanding_is_held_as_credit() -> None:
    instalments = [InstalmentDue(1, date(2026, 2, 15), {INT: 15_000, PRI: 76_680})]
    result = allocate_payment(100_000, instalments)
    assert result.allocated == 91_680
    assert result.credit == 8_320  # 100_000 - 91_680, not lost


def test_zero_payment_allocates_nothing() -> None:
    result = allocate_payment(0, _two_overdue_instalments())
    assert result.lines == ()
    assert result.credit == 0


def test_negative_payment_is_rejected() -> None:
    with pytest.raises(InvalidAllocation, match="negative"):
        allocate_payment(-1, _two_overdue_instalments())


def test_duplicate_instalments_are_rejected() -> None:
    same = InstalmentDue(1, date(2026, 2, 15), {PRI: 1})
    with pytest.raises(InvalidAllocation, match="duplicate"):
        allocate_payment(1, [same, same])


def test_negative_outstanding_is_rejected() -> None:
    with pytest.raises(InvalidAllocation, match="negative outstanding"):
        InstalmentDue(1, date(2026, 2, 15), {PRI: -1})


def test_allocation_order_must_list_every_component_once() -> None:
    with pytest.raises(InvalidAllocation, match="exactly once"):
        AllocationOrder(components=(PEN, FEE, INT))
    with pytest.raises(InvalidAllocation, match="exactly once"):
        AllocationOrder(components=(PEN, PEN, INT, PRI))


def test_apply_allocation_subtracts_and_refuses_over_allocation() -> None:
    instalments = _two_overdue_instalments()
    after = apply_allocation(instalments, [AllocationLine(1, PRI, 680)])
    assert after[0].owes(PRI) == 76_000
    with pytest.raises(InvalidAllocation, match="over-allocated"):
        apply_allocation(instalments, [AllocationLine(2, FEE, 1)])
    with pytest.raises(InvalidAllocation, match="unknown instalment"):
        apply_allocation(instalments, [AllocationLine(9, FEE, 1)])


# --- properties ---------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=1_000_000)


@st.composite
def instalment_lists(draw: st.DrawFn) -> list[InstalmentDue]:
    count = draw(st.integers(min_value=0, max_value=8))
    start = date(2026, 1, 15)
    return [
        InstalmentDue(
            seq,
            start + timedelta(days=30 * seq),
            {c: draw(st.integers(min_value=0, max_value=200_000)) for c in LedgerComponent},
        )
        for seq in range(1, count + 1)
    ]


orders = st.builds(
    AllocationOrder,
    strategy=st.sampled_from(AllocationStrategy),
    components=st.permutations(list(LedgerComponent)).map(tuple),
)
value_dates = st.none() | st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))


@settings(max_examples=300)
@given(
    amount=st.integers(min_value=0, max_value=3_000_000),
    instalments=instalment_lists(),
    order=orders,
    value_date=value_dates,
)
def test_allocation_never_creates_or_loses_a_minor_unit(
    amount: int, instalments: list[InstalmentDue], order: AllocationOrder, value_date: date | None
) -> None:
    result = allocate_payment(amount, instalments, order, value_date)
    assert sum(line.amount for line in result.lines) + result.credit == amount
    assert all(line.amount > 0 for line in result.lines)
    assert result.credit >= 0
    owed = sum(i.total for i in instalments)
    assert result.credit == max(0, amount - owed)
    # No component receives more than it owed (apply_allocation raises otherwise).
    after = apply_allocation(instalments, result.lines)
    if result.credit > 0:
        assert all(i.total == 0 for i in after)


@given(amount=amounts, instalments=instalment_lists(), value_date=value_dates)
def test_oldest_due_instalment_is_settled_before_a_newer_one_is_touched(
    amount: int, instalments: list[InstalmentDue], value_date: date | None
) -> None:
    result = allocate_payment(amount, instalments, value_date=value_date)
    after = {i.seq: i for i in apply_allocation(instalments, result.lines)}
    touched = {line.seq for line in result.lines}
    due = [i for i in instalments if value_date is None or i.due_date <= value_date]
    for older in due:
        for newer in instalments:
            if newer.seq > older.seq and newer.seq in touched:
                assert after[older.seq].total == 0
