"""Repayment periods: the kit's :mod:`lendkit.schedules.periods`, re-exported."""

from __future__ import annotations

from lendkit.schedules.periods import (
    DayCount,
    Frequency,
    accrual_days,
    add_months,
    days_in_year,
    due_dates,
    first_period_rate,
    is_regular_first_period,
    next_due_date,
    period_rate,
    year_fraction,
)

__all__ = [
    "DayCount",
    "Frequency",
    "accrual_days",
    "add_months",
    "days_in_year",
    "due_dates",
    "first_period_rate",
    "is_regular_first_period",
    "next_due_date",
    "period_rate",
    "year_fraction",
]
