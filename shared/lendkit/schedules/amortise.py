"""Amortisation: splitting a principal over due dates (annuity, equal principal, bullet).

The one place the platform's schedule arithmetic lives. The ledger books loans with it
(``ledger.domain.schedule``) and the restructure service quotes plans with it, so a
quote and a booking agree to the minor unit. Pure: no I/O.

* interest for a period is ``round_minor(outstanding_principal * period_rate, rounding)``;
* the principal parts sum exactly to the principal: the last instalment takes whatever
  principal remains, so every rounding remainder lands there;
* no part is ever negative; a zero rate gives zero interest.

Annuity: the level payment ``A = P * r / (1 - (1 + r) ** -n)`` is computed in ``Decimal``
at 50 significant digits and rounded once; each period's principal is ``A - interest``
(never more than what is outstanding), the last instalment is ``remaining principal +
its interest``. With a zero rate the principal is split like equal principal.
Equal principal: ``P // n`` per instalment, the remainder in the last one.
Bullet: interest every period on the full principal; all principal in the last one.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from lendkit.schedules.errors import InvalidSchedule
from lendkit.schedules.money import CALCULATION_PRECISION, Rounding, round_minor
from lendkit.schedules.periods import (
    DayCount,
    Frequency,
    due_dates,
    first_period_rate,
    next_due_date,
    period_rate,
)


class ScheduleType(StrEnum):
    """How principal and interest are spread over the instalments."""

    ANNUITY = "ANNUITY"  # 等额本息: equal total payment every period
    EQUAL_PRINCIPAL = "EQUAL_PRINCIPAL"  # 等额本金: equal principal, falling interest
    BULLET = "BULLET"  # interest every period, all principal at maturity


@dataclass(frozen=True)
class ScheduledInstalment:
    """One scheduled repayment: its principal and interest parts, in minor units."""

    seq: int
    due_date: date
    principal: int
    interest: int

    @property
    def total(self) -> int:
        """Principal plus interest."""
        return self.principal + self.interest


def annuity_payment(principal: int, rate: Decimal, term: int, rounding: Rounding) -> int:
    """The level 等额本息 payment ``P * r / (1 - (1 + r) ** -n)`` rounded to minor units.

    >>> annuity_payment(1_000_000, Decimal("0.015"), 12, Rounding.HALF_EVEN)
    91680
    """
    if rate == 0:
        return round_minor(Decimal(principal) / term, rounding)
    with decimal.localcontext() as ctx:
        ctx.prec = CALCULATION_PRECISION
        exact = Decimal(principal) * rate / (1 - (1 + rate) ** -term)
    return round_minor(exact, rounding)


def amortise(
    principal: int,
    rate: Decimal,
    schedule_type: ScheduleType,
    rounding: Rounding,
    dates: tuple[date, ...],
    start_seq: int,
    *,
    first_rate: Decimal | None = None,
) -> tuple[ScheduledInstalment, ...]:
    """Split ``principal`` over ``dates`` at the period ``rate``; ``first_rate`` (default
    ``rate``) is the first period's interest rate, which never changes the principal parts."""
    if isinstance(principal, bool) or not isinstance(principal, int) or principal <= 0:
        raise InvalidSchedule(f"principal must be a positive number of minor units: {principal!r}")
    if not dates:
        raise InvalidSchedule("a schedule needs at least one due date")
    term = len(dates)
    if schedule_type is ScheduleType.BULLET:
        parts = [0] * (term - 1) + [principal]
    elif schedule_type is ScheduleType.EQUAL_PRINCIPAL or rate == 0:
        parts = [principal // term] * (term - 1) + [principal - principal // term * (term - 1)]
    else:
        parts = []  # annuity: principal parts depend on the running balance

    payment = annuity_payment(principal, rate, term, rounding) if not parts else 0
    instalments: list[ScheduledInstalment] = []
    balance = principal
    with decimal.localcontext() as ctx:
        ctx.prec = CALCULATION_PRECISION
        for k, due in enumerate(dates):
            regular_interest = round_minor(balance * rate, rounding)
            if parts:
                part = parts[k]
            elif k == term - 1:
                part = balance
            else:
                part = max(0, min(payment - regular_interest, balance))
            interest = (
                round_minor(balance * first_rate, rounding)
                if k == 0 and first_rate is not None
                else regular_interest
            )
            instalments.append(ScheduledInstalment(start_seq + k, due, part, interest))
            balance -= part
    return tuple(instalments)


def regular_schedule(
    principal: int,
    *,
    annual_rate: Decimal,
    term: int,
    first_due_date: date,
    start_seq: int,
    schedule_type: ScheduleType,
    frequency: Frequency,
    day_count: DayCount,
    rounding: Rounding,
) -> tuple[ScheduledInstalment, ...]:
    """``principal`` over ``term`` regular periods from ``first_due_date`` (no broken first
    period): the ledger's rewritten schedule and the restructure service's quotes."""
    rate = period_rate(annual_rate, frequency, day_count)
    dates = due_dates(first_due_date, term, frequency)
    return amortise(principal, rate, schedule_type, rounding, dates, start_seq)


def new_loan_schedule(
    principal: int,
    *,
    annual_rate: Decimal,
    term: int,
    disbursed_on: date,
    first_due_date: date | None,
    schedule_type: ScheduleType,
    frequency: Frequency,
    day_count: DayCount,
    rounding: Rounding,
) -> tuple[ScheduledInstalment, ...]:
    """The schedule of a new loan (the ledger's booking, a prospective borrower's quote).

    Without ``first_due_date`` the first instalment falls due one period after
    ``disbursed_on`` and monthly due dates keep the disbursement day (clamped to month
    end); with it, they keep the first due date's day, and a first period shorter or
    longer than one period is charged broken-period interest.
    """
    if first_due_date is None:
        first = next_due_date(disbursed_on, frequency)
        anchor_day = disbursed_on.day
    else:
        if first_due_date <= disbursed_on:
            raise InvalidSchedule(
                f"first due date {first_due_date} must be after disbursement {disbursed_on}"
            )
        first, anchor_day = first_due_date, first_due_date.day
    dates = due_dates(first, term, frequency, anchor_day)
    first_rate = first_period_rate(annual_rate, frequency, day_count, disbursed_on, first)
    rate = period_rate(annual_rate, frequency, day_count)
    return amortise(principal, rate, schedule_type, rounding, dates, 1, first_rate=first_rate)
