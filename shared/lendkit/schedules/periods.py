"""Repayment periods: how often instalments fall due, and the rate per period.

Due dates
    ``MONTHLY`` due dates keep an anchor day and clamp to the month's end when the
    month is shorter: disbursed 31 Jan, first due 28/29 Feb, then 31 Mar, 30 Apr,
    31 May... (the anchor is the disbursement day, or the day of an explicit first
    due date). ``WEEKLY`` / ``BIWEEKLY`` add 7 / 14 calendar days.

Regular period rate
    ``MONTHLY``: ``annual_rate / 12``, whatever the day count. This is the Chinese
    industry convention for 等额本息 / 等额本金 (月利率 = 年利率 / 12); every regular
    month carries the same rate, long or short.
    ``WEEKLY`` / ``BIWEEKLY``: ``annual_rate * 7 / basis`` and ``annual_rate * 14 /
    basis``, where the basis is 365 days for ``ACT_365`` and 360 for ``ACT_360``
    and ``THIRTY_360``.

Broken first period
    The first period is *regular* when the first due date is exactly one period after
    the disbursement (:func:`next_due_date`: a calendar month, clamped to month end, or
    7 / 14 days). Any other first due date makes it *broken* (short or long), and its
    rate is ``annual_rate * accrual_days / basis`` over the days from disbursement to
    the first due date, counted by the day count (:func:`accrual_days`):

    * ``ACT_365``: actual calendar days over 365;
    * ``ACT_360``: actual calendar days over 360;
    * ``THIRTY_360``: 30/360 bond basis (ISDA 2006 4.16(f)): every month counts 30
      days; a 31st start counts as the 30th, a 31st end counts as the 30th when the
      start is the 30th or 31st; over 360. February is not adjusted, so 27 Jan -> 1 Feb
      is 4 days (actual: 5) and 27 Feb -> 1 Mar is 4 days (actual: 2).

    Example: 12,000.00 at 12 % a year, disbursed 2026-01-27, first due 2026-02-01:
    ACT_365 ``1_200_000 * 0.12 * 5 / 365 = 1972.60 -> 19.73``; ACT_360 ``* 5 / 360 =
    20.00``; THIRTY_360 ``* 4 / 360 = 16.00`` (a regular month would be 120.00).
"""

from __future__ import annotations

import calendar
import decimal
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from lendkit.schedules.money import CALCULATION_PRECISION


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


def accrual_days(start: date, end: date, day_count: DayCount) -> int:
    """Days of interest from ``start`` to ``end`` under ``day_count``: actual calendar
    days for ``ACT_365`` / ``ACT_360``, 30/360 bond-basis days for ``THIRTY_360``.

    >>> accrual_days(date(2026, 1, 27), date(2026, 2, 1), DayCount.ACT_365)
    5
    >>> accrual_days(date(2026, 1, 27), date(2026, 2, 1), DayCount.THIRTY_360)
    4
    """
    if day_count is DayCount.THIRTY_360:
        d1 = min(start.day, 30)
        d2 = 30 if end.day == 31 and d1 == 30 else end.day
        return 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1
    return (end - start).days


def year_fraction(start: date, end: date, day_count: DayCount) -> Decimal:
    """Fraction of a year between two dates under ``day_count``: ``accrual_days / basis``."""
    return Decimal(accrual_days(start, end, day_count)) / days_in_year(day_count)


def is_regular_first_period(disbursed_on: date, first_due_date: date, frequency: Frequency) -> bool:
    """True when the first due date is exactly one period after the disbursement."""
    return first_due_date == next_due_date(disbursed_on, frequency)


def first_period_rate(
    annual_rate: Decimal,
    frequency: Frequency,
    day_count: DayCount,
    disbursed_on: date,
    first_due_date: date,
) -> Decimal:
    """Interest rate of the first period: the regular period rate when the period is
    regular, else ``annual_rate * accrual_days / basis`` (see the module docstring)."""
    if is_regular_first_period(disbursed_on, first_due_date, frequency):
        return period_rate(annual_rate, frequency, day_count)
    with decimal.localcontext() as ctx:
        ctx.prec = CALCULATION_PRECISION
        days = accrual_days(disbursed_on, first_due_date, day_count)
        return annual_rate * days / days_in_year(day_count)


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
