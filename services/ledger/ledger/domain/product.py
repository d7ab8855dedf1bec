"""Loan products: the configurable terms every loan of the product shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from ledger.domain.allocation import AllocationOrder
from ledger.domain.errors import InvalidProduct
from ledger.domain.money import Rounding, is_known_currency
from ledger.domain.periods import DayCount, Frequency, period_rate
from lendkit.schedules.amortise import ScheduleType as ScheduleType

#: A contractual annual rate above this is treated as a data error, not a product.
MAX_ANNUAL_RATE = Decimal("1")
#: Longest term accepted, in instalments (50 years monthly).
MAX_TERM = 600
#: Earliest reminder, in days before a due date, and most reminders per instalment.
MAX_REMINDER_DAYS_BEFORE = 60
MAX_REMINDERS = 10


def _frozen(policy: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(policy))


@dataclass(frozen=True, kw_only=True)
class LoanProduct:
    """A loan product. Immutable; a change of terms is a new product version.

    ``overdue_policy``, ``notification_policy`` and ``restructure_policy`` are
    opaque to the ledger: it stores them and hands them to the services that
    interpret them (grace days, penalty rate and caps, reminder channels...). The API
    validates them first against their published schemas
    (``lendkit.contracts.policies``).
    """

    code: str
    currency: str
    annual_rate: Decimal
    term: int
    frequency: Frequency = Frequency.MONTHLY
    schedule_type: ScheduleType = ScheduleType.ANNUITY
    day_count: DayCount = DayCount.ACT_365
    rounding: Rounding = Rounding.HALF_EVEN
    allocation_order: AllocationOrder = field(default_factory=AllocationOrder)
    reminder_days_before: tuple[int, ...] = (3, 1)
    overdue_policy: Mapping[str, object] = field(default_factory=dict, hash=False)
    notification_policy: Mapping[str, object] = field(default_factory=dict, hash=False)
    restructure_policy: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise InvalidProduct(f"loan product {self.code!r}: " + "; ".join(problems))
        object.__setattr__(
            self, "reminder_days_before", tuple(sorted(self.reminder_days_before, reverse=True))
        )
        for name in ("overdue_policy", "notification_policy", "restructure_policy"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if not isinstance(self.code, str) or not self.code.strip():
            problems.append("code must be a non-empty string")
        if not isinstance(self.currency, str) or not is_known_currency(self.currency):
            problems.append(f"currency {self.currency!r} is not a supported ISO 4217 code")
        if not isinstance(self.annual_rate, Decimal) or not self.annual_rate.is_finite():
            problems.append(f"annual_rate must be a finite Decimal, got {self.annual_rate!r}")
        elif not Decimal(0) <= self.annual_rate <= MAX_ANNUAL_RATE:
            problems.append(
                f"annual_rate {self.annual_rate} must be between 0 and {MAX_ANNUAL_RATE}"
            )
        if isinstance(self.term, bool) or not isinstance(self.term, int):
            problems.append(f"term must be an integer number of instalments, got {self.term!r}")
        elif not 1 <= self.term <= MAX_TERM:
            problems.append(f"term {self.term} must be between 1 and {MAX_TERM} instalments")
        for name, kind in (
            ("frequency", Frequency),
            ("schedule_type", ScheduleType),
            ("day_count", DayCount),
            ("rounding", Rounding),
            ("allocation_order", AllocationOrder),
        ):
            if not isinstance(getattr(self, name), kind):
                problems.append(f"{name} must be a {kind.__name__}, got {getattr(self, name)!r}")
        days = self.reminder_days_before
        if not isinstance(days, tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_REMINDER_DAYS_BEFORE
            for d in days
        ):
            problems.append(
                "reminder_days_before must be a tuple of day counts from 0 to "
                f"{MAX_REMINDER_DAYS_BEFORE}"
            )
        elif len(set(days)) != len(days):
            problems.append(f"reminder_days_before has duplicates: {days}")
        elif len(days) > MAX_REMINDERS:
            problems.append(f"reminder_days_before has more than {MAX_REMINDERS} reminders")
        for name in ("overdue_policy", "notification_policy", "restructure_policy"):
            if not isinstance(getattr(self, name), Mapping):
                problems.append(f"{name} must be a mapping")
        return problems

    @property
    def period_rate(self) -> Decimal:
        """The interest rate of one repayment period (see :mod:`ledger.domain.periods`)."""
        return period_rate(self.annual_rate, self.frequency, self.day_count)
