"""Repayment periods: how often instalments fall due, and the rate per period.

Due dates
    ``MONTHLY`` due dates keep an anchor day and clamp to the month's end when the
    month is shorter: disbursed 31 Jan, first due 28/29 Feb, then 31 Mar, 30 Apr,
    31 May... (the anchor is the disbursement day, or the day of an explicit first
    due date). ``WEEKLY`` / ``BIWEEKLY`` add 7 / 14 calendar days.

Period rate
    ``MONTHLY``: ``annual_rate / 12``, whatever the day count. This is the Chinese
    industry convention for 等额本息 / 等额本金 (月利率 = 年利率 / 12); every month
    carries the same rate, long or short.
    ``WEEKLY`` / ``BIWEEKLY``: ``annual_rate * 7 / basis`` and ``annual_rate * 14 /
    basis``, where the basis is 365 days for ``ACT_365`` and 360 for ``ACT_360``
    and ``THIRTY_360``.
    The period rate is applied to every period, including a first period made
    longer or shorter by an explicit first due date (no broken-period interest).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum


class Frequency(StrEnum):
    """How often instalments fall due."""

    MONTHLY = "MONTHLY"
    BIWEEKLY = "BIWEEKLY"
    WEEKLY = "WEEKLY"


class DayCount(StrEnum):
    """Day-count convention: how days become a fraction of a year."""

    ACT_365 = "ACT_365"  # actual days / 365 (fixed)
    ACT_360 = "ACT_360"  # actual days / 360
    THIRTY_360 = "THIRTY_360"  # 30/360 US bond basis


_PERIOD_DAYS = {Frequency.WEEKLY: 7, Frequency.BIWEEKLY: 14}


def days_in_year(day_count: DayCount) -> int:
    """The year basis of a day count: 365 for ACT_365, else 360."""
    return 365 if day_count is DayCount.ACT_365 else 360


def period_rate(annual_rate: Decimal, frequency: Frequency, day_count: DayCount) -> Decimal:
    """Interest rate of one repayment period (see the module docstring)."""
    if frequency is Frequency.MONTHLY:
        return annual_rate / 12
    return annual_rate * _PERIOD_DAYS[frequency] / days_in_year(day_count)


def year_fraction(start: date, end: date, day_count: DayCount) -> Decimal:
    """Fraction of a year between two dates under ``day_count`` (for daily accruals)."""
    if day_count is DayCount.THIRTY_360:
        d1 = min(start.day, 30)
        d2 = 30 if end.day == 31 and d1 == 30 else end.day
        days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1
        return Decimal(days) / 360
    return Decimal((end - start).days) / days_in_year(day_count)


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    """``start`` moved by ``months`` calendar months, on ``anchor_day`` (default
    ``start.day``) clamped to the last day of the target month.

    >>> add_months(date(2024, 1, 31), 1), add_months(date(2024, 1, 31), 2)
    (datetime.date(2024, 2, 29), datetime.date(2024, 3, 31))
    """
    day = start.day if anchor_day is None else anchor_day
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_due_date(after: date, frequency: Frequency) -> date:
    """The default first due date: one period after ``after`` (the disbursement)."""
    if frequency is Frequency.MONTHLY:
        return add_months(after, 1)
    return after + timedelta(days=_PERIOD_DAYS[frequency])


def due_dates(
    first_due_date: date, count: int, frequency: Frequency, anchor_day: int | None = None
) -> tuple[date, ...]:
    """``count`` due dates starting at ``first_due_date``.

    Monthly dates keep ``anchor_day`` (default: the first due date's day), so a
    31st anchor with a first due date of 28 Feb continues 31 Mar, 30 Apr...
    """
    if frequency is Frequency.MONTHLY:
        day = first_due_date.day if anchor_day is None else anchor_day
        return tuple(add_months(first_due_date, k, day) for k in range(count))
    step = timedelta(days=_PERIOD_DAYS[frequency])
    return tuple(first_due_date + step * k for k in range(count))
