"""A loan's position on a business date, as the restructure service sees it.

The read model fed from ``ledger.loans`` and ``overdue.loans`` is turned into a
:class:`LoanPosition`: the loan's terms and its unpaid instalments (unpaid parts only).
Instalments due before ``as_of`` are overdue: their interest is recognised and owed; the
interest of instalments not yet due is not owed until it falls due (a rewritten schedule
replaces it, as the ledger does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lendkit.schedules import (
    DayCount,
    Frequency,
    Rounding,
    ScheduledInstalment,
    ScheduleType,
    next_due_date,
    period_rate,
)


@dataclass(frozen=True)
class LoanTerms:
    """The contract terms a schedule is computed with."""

    currency: str
    annual_rate: Decimal
    schedule_type: ScheduleType
    frequency: Frequency = Frequency.MONTHLY
    day_count: DayCount = DayCount.ACT_365
    rounding: Rounding = Rounding.HALF_EVEN

    @property
    def period_rate(self) -> Decimal:
        """The regular period rate (see :mod:`lendkit.schedules.periods`)."""
        return period_rate(self.annual_rate, self.frequency, self.day_count)


@dataclass(frozen=True)
class LoanPosition:
    """Unpaid instalments (unpaid parts), penalties and fees of one loan on ``as_of``."""

    loan_id: str
    as_of: date
    terms: LoanTerms
    unpaid: tuple[ScheduledInstalment, ...]
    penalty: int = 0
    fee: int = 0
    dpd: int = 0

    @property
    def overdue(self) -> tuple[ScheduledInstalment, ...]:
        """Instalments due before ``as_of`` (their interest is owed)."""
        return tuple(i for i in self.unpaid if i.due_date < self.as_of)

    @property
    def remaining(self) -> tuple[ScheduledInstalment, ...]:
        """Instalments due on or after ``as_of``."""
        return tuple(i for i in self.unpaid if i.due_date >= self.as_of)

    @property
    def outstanding_principal(self) -> int:
        """Every unpaid principal part, overdue or not."""
        return sum(i.principal for i in self.unpaid)

    @property
    def overdue_principal(self) -> int:
        """Principal of the overdue instalments."""
        return sum(i.principal for i in self.overdue)

    @property
    def overdue_interest(self) -> int:
        """Recognised, unpaid interest of the overdue instalments."""
        return sum(i.interest for i in self.overdue)

    @property
    def total_owed(self) -> int:
        """What the borrower owes today: principal, recognised interest, penalty, fees."""
        return self.outstanding_principal + self.overdue_interest + self.penalty + self.fee

    @property
    def next_seq(self) -> int:
        """Sequence number of the first new instalment."""
        return max((i.seq for i in self.unpaid), default=0) + 1

    @property
    def next_due_date(self) -> date:
        """The first remaining due date, or one period after ``as_of`` after maturity."""
        remaining = self.remaining
        if remaining:
            return remaining[0].due_date
        return next_due_date(self.as_of, self.terms.frequency)
