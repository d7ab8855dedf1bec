"""Repayment schedules: 等额本息 (annuity), 等额本金 (equal principal) and bullet.

The arithmetic is the kit's (:mod:`lendkit.schedules.amortise`, shared with the
restructure service's quotes); this module builds the ledger's schedules from it.

Rules shared by every schedule type:

* amounts are integer minor units; interest for a period is
  ``round_minor(outstanding_principal * period_rate, product.rounding)``;
* the principal parts sum exactly to the loan amount: the last instalment takes
  whatever principal remains, so every rounding remainder lands there;
* no part is ever negative; a zero rate gives zero interest.

Annuity: the level payment ``A = P * r / (1 - (1 + r) ** -n)`` is computed in
``Decimal`` at 50 significant digits and rounded once with the product's
rounding; each period's principal is ``A - interest`` (never more than what is
outstanding), and the last instalment is ``remaining principal + its interest``,
so it may differ from ``A`` by a few minor units. With a zero rate the
principal is split like equal principal.

Equal principal: ``P // n`` per instalment, the remainder in the last one.

Bullet: interest every period on the full principal; all principal in the last
instalment (a one-period bullet is the classic single repayment).

Broken first period (every schedule type): when the first due date is not exactly one
period after the disbursement, the first instalment's interest is
``round_minor(principal * annual_rate * accrual_days / basis)`` over the days from
disbursement to the first due date under the product's day count
(:func:`ledger.domain.periods.first_period_rate`); every later period uses the regular
period rate. The principal parts are those of the regular schedule: an annuity's level
payment ``A`` is computed on the regular rate over the whole term and the first
principal part is ``A - round_minor(principal * regular_rate)``, so the first
instalment is ``A`` minus the regular interest plus the broken-period interest, and
instalments 2..n are exactly those of a regular schedule. Example (12,000.00 CNY, 12 %,
12 months, ACT_365, disbursed 2026-01-27, first due 2026-02-01): ``A = 1066.19``,
first principal ``1066.19 - 120.00 = 946.19``, first interest ``19.73`` (5 days),
first instalment ``965.92``; instalments 2..11 are 1066.19.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.domain.allocation import InstalmentDue
from ledger.domain.component import LedgerComponent
from ledger.domain.product import MAX_ANNUAL_RATE, MAX_TERM, LoanProduct
from lendkit.schedules.amortise import (
    ScheduledInstalment,
    ScheduleType,
    annuity_payment,
    new_loan_schedule,
    regular_schedule,
)
from lendkit.schedules.errors import InvalidSchedule
from lendkit.schedules.periods import Frequency

__all__ = [
    "Instalment",
    "Schedule",
    "annuity_payment",
    "build_schedule",
    "rewrite_remaining_schedule",
]


@dataclass(frozen=True)
class Instalment:
    """One scheduled repayment: its contractual principal and interest."""

    seq: int
    due_date: date
    principal: int
    interest: int

    @classmethod
    def all_of(cls, scheduled: Iterable[ScheduledInstalment]) -> tuple[Instalment, ...]:
        """The kit's scheduled instalments as ledger instalments."""
        return tuple(cls(i.seq, i.due_date, i.principal, i.interest) for i in scheduled)

    @property
    def total(self) -> int:
        """Principal plus interest."""
        return self.principal + self.interest

    def as_due(self) -> InstalmentDue:
        """The instalment as an allocation target, nothing paid yet."""
        return InstalmentDue(
            self.seq,
            self.due_date,
            {LedgerComponent.PRINCIPAL: self.principal, LedgerComponent.INTEREST: self.interest},
        )


@dataclass(frozen=True)
class Schedule:
    """The instalments repaying ``principal`` minor units of ``currency``."""

    currency: str
    principal: int
    instalments: tuple[Instalment, ...]

    @property
    def total_principal(self) -> int:
        """Sum of principal parts; always equals ``principal``."""
        return sum(i.principal for i in self.instalments)

    @property
    def total_interest(self) -> int:
        """Sum of contractual interest."""
        return sum(i.interest for i in self.instalments)

    @property
    def total_payment(self) -> int:
        """Everything the borrower pays if every instalment is paid on time."""
        return self.total_principal + self.total_interest

    @property
    def maturity_date(self) -> date:
        """Due date of the last instalment."""
        return self.instalments[-1].due_date

    def instalment(self, seq: int) -> Instalment:
        """The instalment with sequence number ``seq``."""
        for instalment in self.instalments:
            if instalment.seq == seq:
                return instalment
        raise KeyError(seq)

    def dues(self) -> tuple[InstalmentDue, ...]:
        """Every instalment as an allocation target (see :func:`replay_allocations`)."""
        return tuple(i.as_due() for i in self.instalments)


def build_schedule(
    principal_minor: int,
    product: LoanProduct,
    disbursed_on: date,
    first_due_date: date | None = None,
) -> Schedule:
    """The repayment schedule of a new loan of ``principal_minor`` under ``product``.

    Without ``first_due_date`` the first instalment falls due one period after
    ``disbursed_on`` and monthly due dates keep the disbursement day (clamped to
    month end); with it, they keep the first due date's day, and a first period
    shorter or longer than one period is charged broken-period interest (see the
    module docstring).
    """
    return Schedule(
        currency=product.currency,
        principal=principal_minor,
        instalments=Instalment.all_of(
            new_loan_schedule(
                principal_minor,
                annual_rate=product.annual_rate,
                term=product.term,
                disbursed_on=disbursed_on,
                first_due_date=first_due_date,
                schedule_type=product.schedule_type,
                frequency=product.frequency,
                day_count=product.day_count,
                rounding=product.rounding,
            )
        ),
    )


def rewrite_remaining_schedule(
    outstanding_principal: int,
    product: LoanProduct,
    *,
    annual_rate: Decimal,
    term: int,
    first_due_date: date,
    start_seq: int,
    schedule_type: ScheduleType | None = None,
    frequency: Frequency | None = None,
) -> Schedule:
    """A new schedule for a restructured loan (term extension, re-age, rate cut).

    ``outstanding_principal`` is amortised at ``annual_rate`` over ``term`` new
    instalments numbered from ``start_seq``, the first due on ``first_due_date``;
    day count and rounding come from ``product``, schedule type and frequency too
    unless overridden. Every new period, the first included, is a regular period
    (no broken-period interest: the plan's first due date is one period into the new
    schedule by construction of the plan).
    """
    if not isinstance(annual_rate, Decimal) or not Decimal(0) <= annual_rate <= MAX_ANNUAL_RATE:
        raise InvalidSchedule(f"annual rate {annual_rate!r} must be a Decimal in [0, 1]")
    if isinstance(term, bool) or not 1 <= term <= MAX_TERM:
        raise InvalidSchedule(f"term {term} must be between 1 and {MAX_TERM}")
    if start_seq < 1:
        raise InvalidSchedule(f"start_seq {start_seq} must be at least 1")
    return Schedule(
        currency=product.currency,
        principal=outstanding_principal,
        instalments=Instalment.all_of(
            regular_schedule(
                outstanding_principal,
                annual_rate=annual_rate,
                term=term,
                first_due_date=first_due_date,
                start_seq=start_seq,
                schedule_type=schedule_type or product.schedule_type,
                frequency=frequency or product.frequency,
                day_count=product.day_count,
                rounding=product.rounding,
            )
        ),
    )
