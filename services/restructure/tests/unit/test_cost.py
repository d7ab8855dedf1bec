"""The effective annual cost: the solver's answer is the one the textbook sum gives (hypothesis).

The solver evaluates the discounted sum from one fractional power a rate tried; the
reference here discounts each payment by its own ``(1 + i) ** (days / 365)``, the
convention's formula term by term, and finds its root with the same bisection and rounding
(``root_of``)."""

from __future__ import annotations

import decimal
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lendkit.schedules import CALCULATION_PRECISION
from restructure.domain.cost import effective_annual_cost, root_of

START = date(2026, 1, 15)


def textbook(financed: int, start: date, payments: list[tuple[date, int]]) -> Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = CALCULATION_PRECISION
        flows = [(Decimal(max(0, (d - start).days)) / 365, Decimal(a)) for d, a in payments]

        def npv(rate: Decimal) -> Decimal:
            return sum((a / (1 + rate) ** t for t, a in flows), Decimal(0)) - financed

        return root_of(npv)


schedules = st.lists(
    st.tuples(st.integers(min_value=-5, max_value=1_100), st.integers(0, 5_000_000)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(
    financed=st.integers(min_value=1, max_value=20_000_000),
    flows=schedules,
)
def test_the_solver_gives_the_textbook_sums_answer(
    financed: int, flows: list[tuple[int, int]]
) -> None:
    # Days in any order, repeated days, a payment on (or before) the start day, costs far
    # outside the bracket: all allowed.
    payments = [(START + timedelta(days=d), a) for d, a in flows]
    assert effective_annual_cost(financed, START, payments) == textbook(financed, START, payments)


@settings(max_examples=40, deadline=None)
@given(
    financed=st.integers(min_value=1_000, max_value=20_000_000),
    days=st.lists(st.integers(min_value=0, max_value=1_100), min_size=1, max_size=24),
    markup_bps=st.integers(min_value=0, max_value=6_000),
)
def test_the_same_for_plans_a_borrower_is_offered(
    financed: int, days: list[int], markup_bps: int
) -> None:
    # Repaying the amount financed and up to 60 % more over up to three years: costs inside
    # the bracket, where the bisection runs to its end.
    total = financed + financed * markup_bps // 10_000
    share = total // len(days)
    amounts = [share] * (len(days) - 1) + [total - share * (len(days) - 1)]
    payments = [(START + timedelta(days=d), a) for d, a in zip(days, amounts, strict=True)]
    assert effective_annual_cost(financed, START, payments) == textbook(financed, START, payments)


def test_a_monthly_schedule_costs_what_its_rate_says() -> None:
    # 12 monthly instalments of a 12 % nominal annuity: about 12.7 % effective.
    payments = [(START + timedelta(days=30 * k), 8_885) for k in range(1, 13)]
    cost = effective_annual_cost(100_000, START, payments)
    assert cost == textbook(100_000, START, payments)
    assert Decimal("0.12") < cost < Decimal("0.14")
    # One payment on the start day repays at no cost; none at all costs nothing either.
    assert effective_annual_cost(1_000, START, [(START, 1_000)]) == textbook(
        1_000, START, [(START, 1_000)]
    )
    assert effective_annual_cost(1_000, START, []) == Decimal("0.0000")
