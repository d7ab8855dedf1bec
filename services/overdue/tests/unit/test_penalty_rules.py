"""Penalty rules, each proven on a small example."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.penalty import (
    CapApplied,
    DayPosition,
    InvalidWaiver,
    LoanTerms,
    PenaltyDay,
    PenaltyState,
    accrue_over_days,
    accrue_penalty_for_day,
    cost_ceiling_minor,
    penalty_base,
    waive_penalty,
)
from overdue.domain.policy import OverduePolicy, PenaltyBase

pytestmark = pytest.mark.unit

LOAN = LoanTerms(principal_minor=1_000_000, disbursed_on=date(2026, 1, 15))
DUE = date(2026, 3, 15)
ARREARS = OverdueBreakdown(principal_minor=77_830, interest_minor=13_850)


def day(on: date, overdue: OverdueBreakdown = ARREARS, due: date | None = DUE) -> DayPosition:
    return DayPosition(on=on, oldest_unpaid_due_date=due, overdue=overdue)


def run(first: date, count: int, policy: OverduePolicy) -> list[DayPosition]:
    return [day(first + timedelta(days=n)) for n in range(count)]


def test_penalty_grace_is_separate_from_arrears_grace() -> None:
    """Penalty grace 3: DPD 1-3 (2026-03-16..18) carry no penalty; 2026-03-19 does."""
    policy = OverduePolicy(arrears_grace_days=0, penalty_grace_days=3)
    days, _ = accrue_over_days(PenaltyState(), LOAN, run(date(2026, 3, 15), 6, policy), policy)
    assert [d.on for d in days] == [date(2026, 3, 19), date(2026, 3, 20)]
    assert [d.dpd for d in days] == [4, 5]


def test_no_penalty_on_the_due_date_or_when_nothing_is_unpaid() -> None:
    policy = OverduePolicy()
    assert accrue_penalty_for_day(PenaltyState(), LOAN, day(DUE), policy)[0] is None
    nothing_due = day(date(2026, 3, 20), OverdueBreakdown(), due=None)
    penalty_day, state = accrue_penalty_for_day(PenaltyState(), LOAN, nothing_due, policy)
    assert penalty_day is None
    assert state.last_accrued_on == date(2026, 3, 20)


def test_penalty_base_ignores_penalty_and_fee_components() -> None:
    plain = OverdueBreakdown(principal_minor=77_830, interest_minor=13_850)
    loaded = OverdueBreakdown(
        principal_minor=77_830, interest_minor=13_850, penalty_minor=5_000, fees_minor=9_999
    )
    for basis in PenaltyBase:
        assert penalty_base(loaded, basis) == penalty_base(plain, basis)
    assert penalty_base(loaded, PenaltyBase.OVERDUE_PRINCIPAL) == 77_830
    assert penalty_base(loaded, PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST) == 91_680


def test_principal_and_interest_base_charges_on_overdue_interest_too() -> None:
    """(77_830 + 13_850) * 0.0005 = 45.84 a day -> 46, 46 (91.68 -> 92), 45 (137.52 -> 138)."""
    policy = OverduePolicy(penalty_base=PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST)
    days, _ = accrue_over_days(PenaltyState(), LOAN, run(date(2026, 3, 16), 3, policy), policy)
    assert [d.exact for d in days] == [Decimal("45.84")] * 3
    assert [d.booked_minor for d in days] == [46, 46, 46]


def test_ties_round_half_even_by_default_and_half_up_when_the_product_says_so() -> None:
    """Base 1_000 at 0.05 % = 0.5 a day. Cumulative 0.5, 1.0, 1.5, 2.0.
    Half-even: 0, 1, 2, 2 -> booked 0, 1, 1, 0. Half-up: 1, 1, 2, 2 -> 1, 0, 1, 0."""
    small = OverdueBreakdown(principal_minor=1_000)
    positions = [day(date(2026, 3, 16) + timedelta(days=n), small) for n in range(4)]
    even, _ = accrue_over_days(PenaltyState(), LOAN, positions, OverduePolicy())
    up, _ = accrue_over_days(
        PenaltyState(), LOAN, positions, OverduePolicy(penalty_rounding=ROUND_HALF_UP)
    )
    assert [d.booked_minor for d in even] == [0, 1, 1, 0]
    assert [d.booked_minor for d in up] == [1, 0, 1, 0]


def test_accruing_the_same_day_twice_is_a_no_op() -> None:
    policy = OverduePolicy()
    first, state = accrue_penalty_for_day(PenaltyState(), LOAN, day(date(2026, 3, 16)), policy)
    assert first is not None
    again, same = accrue_penalty_for_day(state, LOAN, day(date(2026, 3, 16)), policy)
    assert again is None
    assert same is state


def test_accruing_an_earlier_day_is_a_no_op() -> None:
    policy = OverduePolicy()
    _, state = accrue_over_days(PenaltyState(), LOAN, run(date(2026, 3, 16), 5, policy), policy)
    earlier, same = accrue_penalty_for_day(state, LOAN, day(date(2026, 3, 17)), policy)
    assert (earlier, same) == (None, state)


def test_accrual_before_disbursement_is_rejected() -> None:
    with pytest.raises(ValueError, match="before the disbursement date"):
        accrue_penalty_for_day(PenaltyState(), LOAN, day(date(2026, 1, 14)), OverduePolicy())


def test_ceiling_counts_days_from_disbursement_inclusive() -> None:
    """Disbursement day itself is day 1: floor(1_000_000 * 0.24 * 1 / 365) = floor(657.53)."""
    assert cost_ceiling_minor(LOAN, date(2026, 1, 15), OverduePolicy()) == 657
    assert cost_ceiling_minor(LOAN, date(2026, 1, 16), OverduePolicy()) == 1_315
    assert cost_ceiling_minor(LOAN, date(2027, 1, 14), OverduePolicy()) == 240_000


def test_short_first_period_interest_leaves_the_ceiling_room_for_penalty() -> None:
    """12,000.00 disbursed 2026-01-27, first due 2026-02-01 (5 days), unpaid: on 2026-02-02
    (DPD 1, day 7 from disbursement) the ceiling is floor(1_200_000 * 0.24 * 7 / 365) =
    floor(5523.29) = 5523. The ledger charges the 5 days 1_200_000 * 0.12 * 5 / 365 = 19.73,
    so 94_619 * 0.0005 = 47.31 of penalty books 47. Had it charged a whole month (120.00 >
    55.23) the ceiling would forgo all of it."""
    loan = LoanTerms(principal_minor=1_200_000, disbursed_on=date(2026, 1, 27))
    on, due = date(2026, 2, 2), date(2026, 2, 1)
    assert cost_ceiling_minor(loan, on, OverduePolicy()) == 5_523

    def first_day(interest_charged: int) -> PenaltyDay:
        position = DayPosition(
            on=on,
            oldest_unpaid_due_date=due,
            overdue=OverdueBreakdown(principal_minor=94_619, interest_minor=interest_charged),
            interest_charged_to_date_minor=interest_charged,
        )
        penalty_day, _ = accrue_penalty_for_day(PenaltyState(), loan, position, OverduePolicy())
        assert penalty_day is not None
        return penalty_day

    broken = first_day(1_973)
    assert (broken.booked_minor, broken.forgone_minor, broken.cap_applied) == (47, 0, None)
    whole_month = first_day(12_000)
    assert (whole_month.booked_minor, whole_month.forgone_minor) == (0, 47)
    assert whole_month.cap_applied is CapApplied.ANNUAL_COST_CEILING


def test_waiver_lowers_penalty_owed_without_rewriting_booked_days() -> None:
    policy = OverduePolicy()
    days, state = accrue_over_days(PenaltyState(), LOAN, run(date(2026, 3, 16), 3, policy), policy)
    waived = waive_penalty(state, 50)
    assert (waived.assessed_to_date_minor, waived.waived_to_date_minor) == (117, 50)
    assert waived.booked_to_date_minor == 67
    assert waived.cumulative_exact == state.cumulative_exact
    assert [d.booked_minor for d in days] == [39, 39, 39]
    # Accrual carries on from the same carry: round(155.66) - 117 = 39.
    next_day, _ = accrue_penalty_for_day(waived, LOAN, day(date(2026, 3, 19)), policy)
    assert next_day is not None
    assert next_day.booked_minor == 39


def test_waiver_never_reopens_the_absolute_cap() -> None:
    policy = OverduePolicy(absolute_penalty_cap_minor=100)
    _, state = accrue_over_days(PenaltyState(), LOAN, run(date(2026, 3, 16), 3, policy), policy)
    assert state.assessed_to_date_minor == 100
    waived = waive_penalty(state, 100)
    after, _ = accrue_penalty_for_day(waived, LOAN, day(date(2026, 3, 19)), policy)
    assert after is not None
    assert (after.booked_minor, after.cap_applied) == (0, CapApplied.ABSOLUTE_PENALTY_CAP)


@pytest.mark.parametrize("amount", [0, -1, 118])
def test_waiver_must_be_positive_and_within_penalty_owed(amount: int) -> None:
    policy = OverduePolicy()
    _, state = accrue_over_days(PenaltyState(), LOAN, run(date(2026, 3, 16), 3, policy), policy)
    with pytest.raises(InvalidWaiver):
        waive_penalty(state, amount)


def test_absolute_cap_of_zero_books_nothing() -> None:
    policy = OverduePolicy(absolute_penalty_cap_minor=0)
    days, state = accrue_over_days(PenaltyState(), LOAN, run(date(2026, 3, 16), 2, policy), policy)
    assert [(d.booked_minor, d.cap_applied) for d in days] == [
        (0, CapApplied.ABSOLUTE_PENALTY_CAP),
        (0, CapApplied.ABSOLUTE_PENALTY_CAP),
    ]
    assert state.assessed_to_date_minor == 0
