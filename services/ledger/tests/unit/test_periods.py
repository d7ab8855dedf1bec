"""Due dates and period rates."""

from datetime import date
from decimal import Decimal

from ledger.domain.periods import (
    DayCount,
    Frequency,
    add_months,
    due_dates,
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
