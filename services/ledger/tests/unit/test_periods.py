"""Due dates and period rates."""

import decimal
from datetime import date
from decimal import Decimal

from ledger.domain.periods import (
    DayCount,
    Frequency,
    accrual_days,
    add_months,
    due_dates,
    first_period_rate,
    is_regular_first_period,
    next_due_date,
    period_rate,
    year_fraction,
)


def test_month_end_clamps_jan_31_to_feb_28_then_returns_to_the_31st() -> None:
    assert next_due_date(date(2026, 1, 31), Frequency.MONTHLY) == date(2026, 2, 28)
    assert due_dates(date(2026, 2, 28), 4, Frequency.MONTHLY, anchor_day=31) == (
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    )


def test_leap_year_february_keeps_the_29th() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 30), 1) == date(2024, 2, 29)


def test_month_arithmetic_crosses_year_end() -> None:
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)


def test_weekly_and_biweekly_dates_step_by_7_and_14_days() -> None:
    assert due_dates(date(2026, 3, 2), 3, Frequency.WEEKLY) == (
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
    )
    assert next_due_date(date(2026, 3, 2), Frequency.BIWEEKLY) == date(2026, 3, 16)


def test_monthly_rate_is_annual_over_twelve_whatever_the_day_count() -> None:
    for day_count in DayCount:
        assert period_rate(Decimal("0.18"), Frequency.MONTHLY, day_count) == Decimal("0.015")


def test_weekly_rate_is_seven_days_of_the_year_basis() -> None:
    # 36.5% a year on ACT_365 is 0.1% a day, 0.7% a week, 1.4% a fortnight.
    assert period_rate(Decimal("0.365"), Frequency.WEEKLY, DayCount.ACT_365) == Decimal("0.007")
    assert period_rate(Decimal("0.365"), Frequency.BIWEEKLY, DayCount.ACT_365) == Decimal("0.014")
    # 36% on a 360-day basis is 0.1% a day.
    assert period_rate(Decimal("0.36"), Frequency.WEEKLY, DayCount.ACT_360) == Decimal("0.007")


def test_year_fraction_follows_the_day_count() -> None:
    start, end = date(2026, 1, 31), date(2026, 3, 31)  # 59 actual days
    assert year_fraction(start, end, DayCount.ACT_365) == Decimal(59) / 365
    assert year_fraction(start, end, DayCount.ACT_360) == Decimal(59) / 360
    # 30/360: 31 Jan counts as the 30th, and so does 31 Mar: two whole months.
    assert year_fraction(start, end, DayCount.THIRTY_360) == Decimal(60) / 360


def test_thirty_360_counts_jan_27_to_feb_1_as_4_days_where_actual_is_5() -> None:
    # 30/360 bond basis: 30 * (2 - 1) + 1 - 27 = 4; actual calendar days 27 Jan -> 1 Feb = 5.
    start, end = date(2026, 1, 27), date(2026, 2, 1)
    assert accrual_days(start, end, DayCount.THIRTY_360) == 4
    assert accrual_days(start, end, DayCount.ACT_365) == 5
    assert accrual_days(start, end, DayCount.ACT_360) == 5
    # February is not adjusted: 27 Feb -> 1 Mar 2026 is 2 actual days, 4 by 30/360.
    assert accrual_days(date(2026, 2, 27), date(2026, 3, 1), DayCount.THIRTY_360) == 4
    assert accrual_days(date(2026, 2, 27), date(2026, 3, 1), DayCount.ACT_365) == 2


def test_a_first_period_of_exactly_one_period_is_regular() -> None:
    assert is_regular_first_period(date(2026, 1, 31), date(2026, 2, 28), Frequency.MONTHLY)
    assert is_regular_first_period(date(2026, 3, 2), date(2026, 3, 9), Frequency.WEEKLY)
    assert not is_regular_first_period(date(2026, 1, 27), date(2026, 2, 1), Frequency.MONTHLY)
    assert not is_regular_first_period(date(2026, 1, 20), date(2026, 3, 10), Frequency.MONTHLY)
    for day_count in DayCount:
        assert first_period_rate(
            Decimal("0.18"), Frequency.MONTHLY, day_count, date(2026, 1, 15), date(2026, 2, 15)
        ) == Decimal("0.015")


def _days_of(rate: Decimal, days: int, basis: int) -> Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        return rate * days / basis


def test_broken_first_period_rate_is_annual_rate_times_days_over_the_basis() -> None:
    start, short = date(2026, 1, 27), date(2026, 2, 1)
    rate = Decimal("0.12")

    def first(day_count: DayCount, due: date) -> Decimal:
        return first_period_rate(rate, Frequency.MONTHLY, day_count, start, due)

    assert first(DayCount.ACT_365, short) == _days_of(rate, 5, 365)
    assert first(DayCount.ACT_360, short) == _days_of(rate, 5, 360)
    assert first(DayCount.THIRTY_360, short) == _days_of(rate, 4, 360)
    # a long first period likewise: 27 Jan -> 10 Mar 2026 is 42 actual days, 43 by 30/360
    long = date(2026, 3, 10)
    assert first(DayCount.ACT_365, long) == _days_of(rate, 42, 365)
    assert first(DayCount.ACT_360, long) == _days_of(rate, 42, 360)
    assert first(DayCount.THIRTY_360, long) == _days_of(rate, 43, 360)
