"""Properties of penalty accrual over arbitrary histories of days and payments."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.penalty import (
    CapApplied,
    DayPosition,
    LoanTerms,
    PenaltyDay,
    PenaltyState,
    accrue_over_days,
    accrue_penalty_for_day,
    cost_ceiling_minor,
)
from overdue.domain.policy import OverduePolicy, PenaltyBase

pytestmark = pytest.mark.unit

DISBURSED = date(2026, 1, 15)


@dataclass(frozen=True)
class DayEvents:
    """What happens to the loan on one day."""

    paid_principal: int
    paid_interest: int
    newly_due_principal: int
    newly_due_interest: int
    interest_charged: int
    fee_charged: int
    penalty_component: int
    fee_component: int


@dataclass(frozen=True)
class History:
    loan: LoanTerms
    policy: OverduePolicy
    positions: tuple[DayPosition, ...]


policies = st.builds(
    OverduePolicy,
    arrears_grace_days=st.integers(0, 5),
    penalty_grace_days=st.integers(0, 5),
    penalty_daily_rate=st.decimals(min_value=0, max_value=Decimal("0.01"), places=6),
    penalty_base=st.sampled_from(PenaltyBase),
    penalty_rounding=st.sampled_from([ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN]),
    annual_cost_ceiling=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.36"), places=4),
    absolute_penalty_cap_minor=st.none() | st.integers(0, 50_000),
)

day_events = st.builds(
    DayEvents,
    paid_principal=st.integers(0, 60_000) | st.just(0),
    paid_interest=st.integers(0, 10_000) | st.just(0),
    newly_due_principal=st.just(0) | st.integers(0, 100_000),
    newly_due_interest=st.just(0) | st.integers(0, 15_000),
    interest_charged=st.integers(0, 2_000),
    fee_charged=st.just(0) | st.integers(0, 5_000),
    penalty_component=st.integers(0, 100_000),
    fee_component=st.integers(0, 100_000),
)


@st.composite
def histories(draw: st.DrawFn) -> History:
    principal = draw(st.integers(10_000, 5_000_000))
    policy = draw(policies)
    first_day = DISBURSED + timedelta(days=draw(st.integers(0, 120)))
    events = draw(st.lists(day_events, min_size=1, max_size=60))
    overdue_principal = draw(st.integers(0, principal))
    overdue_interest = draw(st.integers(0, 20_000))
    oldest: date | None = first_day - timedelta(days=draw(st.integers(0, 10)))
    interest_to_date = draw(st.integers(0, 200_000))
    fees_to_date = 0
    positions = []
    for offset, happened in enumerate(events):
        on = first_day + timedelta(days=offset)
        overdue_principal = max(0, overdue_principal - happened.paid_principal)
        overdue_interest = max(0, overdue_interest - happened.paid_interest)
        if overdue_principal == 0 and overdue_interest == 0:
            oldest = None
        if happened.newly_due_principal or happened.newly_due_interest:
            overdue_principal += happened.newly_due_principal
            overdue_interest += happened.newly_due_interest
            if oldest is None:
                oldest = on - timedelta(days=1)
        interest_to_date += happened.interest_charged
        fees_to_date += happened.fee_charged
        positions.append(
            DayPosition(
                on=on,
                oldest_unpaid_due_date=oldest,
                overdue=OverdueBreakdown(
                    principal_minor=overdue_principal,
                    interest_minor=overdue_interest,
                    penalty_minor=happened.penalty_component,
                    fees_minor=happened.fee_component,
                ),
                interest_charged_to_date_minor=interest_to_date,
                fees_charged_to_date_minor=fees_to_date,
            )
        )
    return History(LoanTerms(principal, DISBURSED), policy, tuple(positions))


def accrue(history: History) -> tuple[list[tuple[DayPosition, PenaltyDay]], PenaltyState]:
    state = PenaltyState()
    accrued = []
    for position in history.positions:
        penalty_day, state = accrue_penalty_for_day(state, history.loan, position, history.policy)
        if penalty_day is not None:
            accrued.append((position, penalty_day))
    return accrued, state


def round_per_policy(value: Decimal, policy: OverduePolicy) -> int:
    return int(value.quantize(Decimal(1), rounding=policy.penalty_rounding))


@settings(max_examples=300)
@given(histories())
def test_penalty_never_takes_annualised_cost_above_the_ceiling(history: History) -> None:
    """On any day that books penalty, interest + fees + penalty to date <= the ceiling.
    (Contract interest alone may exceed a low ceiling; then no penalty is booked.)"""
    state = PenaltyState()
    for position in history.positions:
        penalty_day, state = accrue_penalty_for_day(state, history.loan, position, history.policy)
        if penalty_day is None:
            continue
        assert penalty_day.booked_minor >= 0
        assert penalty_day.forgone_minor >= 0
        if penalty_day.booked_minor > 0:
            cost = (
                position.interest_charged_to_date_minor
                + position.fees_charged_to_date_minor
                + state.assessed_to_date_minor
            )
            assert cost <= cost_ceiling_minor(history.loan, position.on, history.policy)


@settings(max_examples=300)
@given(histories())
def test_penalty_never_exceeds_the_absolute_cap(history: History) -> None:
    accrued, state = accrue(history)
    cap = history.policy.absolute_penalty_cap_minor
    if cap is not None:
        assert state.assessed_to_date_minor <= cap
    assert sum(d.booked_minor for _, d in accrued) == state.assessed_to_date_minor


@settings(max_examples=200)
@given(histories(), st.data())
def test_penalty_and_fee_components_never_change_the_penalty(
    history: History, data: st.DataObject
) -> None:
    """No pyramiding: replacing the penalty and fee parts of the arrears with anything
    else leaves every booked day exactly as it was."""
    other = replace(
        history,
        positions=tuple(
            replace(
                p,
                overdue=replace(
                    p.overdue,
                    penalty_minor=data.draw(st.integers(0, 10**9)),
                    fees_minor=data.draw(st.integers(0, 10**9)),
                ),
            )
            for p in history.positions
        ),
    )
    assert [d for _, d in accrue(history)[0]] == [d for _, d in accrue(other)[0]]


@settings(max_examples=300)
@given(histories())
def test_booked_total_equals_rounded_cumulative_exact(history: History) -> None:
    """After every day, assessed == round(cumulative exact). With no cap touching any
    day, the booked total is the rounded sum of the exact daily amounts: no drift."""
    state = PenaltyState()
    days = []
    for position in history.positions:
        penalty_day, state = accrue_penalty_for_day(state, history.loan, position, history.policy)
        assert state.assessed_to_date_minor == round_per_policy(
            state.cumulative_exact, history.policy
        )
        assert abs(state.carry) < 1
        if penalty_day is not None:
            days.append(penalty_day)
    uncapped = all(d.cap_applied is None for d in days)
    event("no cap touched" if uncapped else "a cap clipped some day")
    if uncapped:
        exact_total = sum((d.exact for d in days), Decimal(0))
        assert state.cumulative_exact == exact_total
        assert sum(d.booked_minor for d in days) == round_per_policy(exact_total, history.policy)


@settings(max_examples=200)
@given(histories(), st.data())
def test_replaying_any_day_already_accrued_is_a_no_op(
    history: History, data: st.DataObject
) -> None:
    _, state = accrue(history)
    replayed = data.draw(st.sampled_from(history.positions))
    penalty_day, after = accrue_penalty_for_day(state, history.loan, replayed, history.policy)
    assert penalty_day is None
    assert after == state
    again, final = accrue_over_days(state, history.loan, history.positions, history.policy)
    assert again == ()
    assert final == state


@settings(max_examples=200)
@given(histories())
def test_cap_is_recorded_exactly_when_a_day_was_clipped(history: History) -> None:
    accrued, _ = accrue(history)
    for _, penalty_day in accrued:
        if penalty_day.forgone_minor > 0:
            assert penalty_day.cap_applied in set(CapApplied)
        else:
            assert penalty_day.cap_applied is None
