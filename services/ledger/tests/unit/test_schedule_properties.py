"""Schedule properties over random loans (hypothesis)."""

import decimal
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.domain.money import Rounding
from ledger.domain.periods import (
    DayCount,
    Frequency,
    accrual_days,
    days_in_year,
    is_regular_first_period,
)
from ledger.domain.product import LoanProduct, ScheduleType
from ledger.domain.schedule import annuity_payment, build_schedule

principals = st.integers(min_value=1, max_value=10**9)
# 0 .. 36% a year in basis-point steps of 0.01%.
annual_rates = st.integers(min_value=0, max_value=3600).map(lambda bp: Decimal(bp) / 10_000)
terms = st.integers(min_value=1, max_value=60)
disbursement_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def _product(
    annual_rate: Decimal,
    term: int,
    schedule_type: ScheduleType,
    frequency: Frequency = Frequency.MONTHLY,
    rounding: Rounding = Rounding.HALF_EVEN,
    day_count: DayCount = DayCount.ACT_365,
) -> LoanProduct:
    return LoanProduct(
        code="P",
        currency="CNY",
        annual_rate=annual_rate,
        term=term,
        schedule_type=schedule_type,
        frequency=frequency,
        rounding=rounding,
        day_count=day_count,
    )


@settings(max_examples=500)
@given(
    principal=principals,
    annual_rate=annual_rates,
    term=terms,
    schedule_type=st.sampled_from(ScheduleType),
    frequency=st.sampled_from(Frequency),
    day_count=st.sampled_from(DayCount),
    rounding=st.sampled_from(Rounding),
    disbursed_on=disbursement_dates,
    first_period_days=st.none() | st.integers(min_value=1, max_value=75),
)
def test_every_schedule_principal_sums_exactly_to_the_loan_amount(
    principal: int,
    annual_rate: Decimal,
    term: int,
    schedule_type: ScheduleType,
    frequency: Frequency,
    day_count: DayCount,
    rounding: Rounding,
    disbursed_on: date,
    first_period_days: int | None,
) -> None:
    """With the default first due date or a short or long first period of 1..75 days."""
    product = _product(annual_rate, term, schedule_type, frequency, rounding, day_count)
    first_due = None if first_period_days is None else disbursed_on + timedelta(first_period_days)
    schedule = build_schedule(principal, product, disbursed_on, first_due_date=first_due)
    # the first period moves only the first instalment's interest, never the principal
    regular = build_schedule(principal, product, disbursed_on)
    assert [i.principal for i in schedule.instalments] == [i.principal for i in regular.instalments]
    assert schedule.total_principal == principal
    assert len(schedule.instalments) == term
    assert [i.seq for i in schedule.instalments] == list(range(1, term + 1))
    assert all(i.principal >= 0 and i.interest >= 0 for i in schedule.instalments)
    dates = [i.due_date for i in schedule.instalments]
    assert dates[0] > disbursed_on
    assert dates == sorted(set(dates))
    assert schedule.total_interest == schedule.total_payment - principal
    if annual_rate == 0:
        assert schedule.total_interest == 0


def _closed_form_interest(principal: int, rate: Decimal, payment: int, k: int) -> Decimal:
    """Interest of period k from B_{k-1} = P(1+r)^(k-1) - A((1+r)^(k-1) - 1)/r, exactly."""
    growth = (1 + rate) ** (k - 1)
    balance = principal * growth - payment * (growth - 1) / rate
    return balance * rate


@settings(max_examples=300)
@given(
    # Large enough that the level payment is many minor units, so rounding of the
    # payment cannot exhaust the balance before the last period.
    principal=st.integers(min_value=100_000, max_value=10**9),
    annual_rate=annual_rates.filter(lambda r: r > 0),
    term=terms,
    rounding=st.sampled_from(Rounding),
)
def test_annuity_interest_matches_the_closed_form_outstanding_balance(
    principal: int, annual_rate: Decimal, term: int, rounding: Rounding
) -> None:
    product = _product(annual_rate, term, ScheduleType.ANNUITY, rounding=rounding)
    schedule = build_schedule(principal, product, date(2026, 1, 15))
    rate = product.period_rate
    payment = annuity_payment(principal, rate, term, rounding)
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        for k, instalment in enumerate(schedule.instalments, start=1):
            expected = _closed_form_interest(principal, rate, payment, k)
            # Each period's interest rounding (<= 0.5) shifts the balance; the shifts
            # compound at (1 + r): |error_k| <= 0.5 + 0.5 * ((1 + r)^(k-1) - 1).
            tolerance = Decimal("0.5") + Decimal("0.5") * ((1 + rate) ** (k - 1) - 1)
            assert tolerance < 3  # "a few minor units" for rates <= 36%, terms <= 60
            assert abs(instalment.interest - expected) <= tolerance, (k, instalment, expected)
        # Every instalment but the last is exactly the level payment. The last absorbs
        # the remainders: the payment's own rounding (<= 0.5 a period, compounded over
        # n periods) plus the interest roundings (compounded over n - 1 periods).
        assert all(i.total == payment for i in schedule.instalments[:-1])

        def compounded(periods: int) -> Decimal:
            return ((1 + rate) ** periods - 1) / rate

        last_tolerance = Decimal("0.5") * (compounded(term) + compounded(term - 1) * (1 + rate) + 1)
        assert abs(schedule.instalments[-1].total - payment) <= last_tolerance
    # Total interest is exactly what is paid beyond the principal.
    assert schedule.total_interest == schedule.total_payment - principal


@given(principal=principals, annual_rate=annual_rates, term=terms)
def test_equal_principal_interest_never_rises(
    principal: int, annual_rate: Decimal, term: int
) -> None:
    schedule = build_schedule(
        principal, _product(annual_rate, term, ScheduleType.EQUAL_PRINCIPAL), date(2026, 1, 15)
    )
    interest = [i.interest for i in schedule.instalments]
    assert interest == sorted(interest, reverse=True)
    parts = {i.principal for i in schedule.instalments[:-1]}
    assert parts <= {principal // term}


@given(principal=principals, annual_rate=annual_rates, term=terms)
def test_bullet_interest_is_the_same_every_period(
    principal: int, annual_rate: Decimal, term: int
) -> None:
    schedule = build_schedule(
        principal, _product(annual_rate, term, ScheduleType.BULLET), date(2026, 1, 15)
    )
    assert len({i.interest for i in schedule.instalments}) == 1
    assert schedule.instalments[-1].principal == principal


def test_tiny_annuity_never_produces_negative_parts() -> None:
    # 1 fen over 60 months at 36%: the payment rounds to 0 and everything lands last.
    schedule = build_schedule(
        1, _product(Decimal("0.36"), 60, ScheduleType.ANNUITY), date(2026, 1, 1)
    )
    assert [i.principal for i in schedule.instalments] == [0] * 59 + [1]
    assert all(i.interest >= 0 for i in schedule.instalments)


# Broken first periods --------------------------------------------------------------------


@settings(max_examples=300)
@given(
    principal=principals,
    annual_rate=annual_rates,
    schedule_type=st.sampled_from(ScheduleType),
    day_count=st.sampled_from(DayCount),
    rounding=st.sampled_from(Rounding),
    disbursed_on=disbursement_dates,
    days=st.lists(st.integers(min_value=1, max_value=75), min_size=2, max_size=2, unique=True).map(
        sorted
    ),
)
def test_broken_first_period_interest_scales_with_its_days(
    principal: int,
    annual_rate: Decimal,
    schedule_type: ScheduleType,
    day_count: DayCount,
    rounding: Rounding,
    disbursed_on: date,
    days: list[int],
) -> None:
    product = _product(annual_rate, 12, schedule_type, Frequency.MONTHLY, rounding, day_count)
    interests = []
    for n in days:
        first_due = disbursed_on + timedelta(days=n)
        # a regular month is annual / 12, not days / basis
        assume(not is_regular_first_period(disbursed_on, first_due, Frequency.MONTHLY))
        first = build_schedule(principal, product, disbursed_on, first_due_date=first_due)
        counted = accrual_days(disbursed_on, first_due, day_count)
        with decimal.localcontext() as ctx:
            ctx.prec = 60
            exact = Decimal(principal) * annual_rate * counted / days_in_year(day_count)
            expected = int(exact.quantize(Decimal(1), rounding=rounding.decimal_mode))
        assert first.instalments[0].interest == expected
        interests.append(first.instalments[0].interest)
    # more days never cost less (30/360 day counts are monotone in the end date too)
    assert interests[0] <= interests[1]
