"""The ledger's domain: money, products, schedules, allocation, journal, statements.

Pure Python: no I/O, no database, no Kafka. Amounts are integer minor units with
the ISO currency code carried by the owning object; rates are ``Decimal``.
"""

from ledger.domain.allocation import (
    AllocationLine,
    AllocationOrder,
    AllocationResult,
    AllocationStrategy,
    InstalmentDue,
    allocate_payment,
    apply_allocation,
)
from ledger.domain.component import LedgerComponent
from ledger.domain.errors import (
    InvalidAllocation,
    InvalidProduct,
    InvalidSchedule,
    LedgerDomainError,
    UnbalancedEntry,
    UnknownCurrency,
)
from ledger.domain.journal import (
    Account,
    JournalEntry,
    JournalLine,
    balances,
    charge_booked_entry,
    charge_waived_entry,
    credit_applied_entry,
    credit_refunded_entry,
    disbursement_entry,
    interest_due_entry,
    payment_entry,
    payment_reversal_entry,
    trial_balance_ok,
)
from ledger.domain.money import Rounding, currency_exponent, round_minor, to_major, to_minor
from ledger.domain.owed import (
    InstalmentPosition,
    OwedBreakdown,
    OwedInstalment,
    instalment_positions,
    what_is_owed,
)
from ledger.domain.periods import DayCount, Frequency, add_months, due_dates, period_rate
from ledger.domain.product import (
    MAX_REMINDER_DAYS_BEFORE,
    MAX_REMINDERS,
    LoanProduct,
    ScheduleType,
)
from ledger.domain.replay import (
    Charge,
    CreditApplication,
    Payment,
    PaymentAllocation,
    ReplayOutcome,
    replay_allocations,
)
from ledger.domain.schedule import (
    Instalment,
    Schedule,
    annuity_payment,
    build_schedule,
    rewrite_remaining_schedule,
)

__all__ = [
    "MAX_REMINDERS",
    "MAX_REMINDER_DAYS_BEFORE",
    "Account",
    "AllocationLine",
    "AllocationOrder",
    "AllocationResult",
    "AllocationStrategy",
    "Charge",
    "CreditApplication",
    "DayCount",
    "Frequency",
    "Instalment",
    "InstalmentDue",
    "InstalmentPosition",
    "InvalidAllocation",
    "InvalidProduct",
    "InvalidSchedule",
    "JournalEntry",
    "JournalLine",
    "LedgerComponent",
    "LedgerDomainError",
    "LoanProduct",
    "OwedBreakdown",
    "OwedInstalment",
    "Payment",
    "PaymentAllocation",
    "ReplayOutcome",
    "Rounding",
    "Schedule",
    "ScheduleType",
    "UnbalancedEntry",
    "UnknownCurrency",
    "add_months",
    "allocate_payment",
    "annuity_payment",
    "apply_allocation",
    "balances",
    "build_schedule",
    "charge_booked_entry",
    "charge_waived_entry",
    "credit_applied_entry",
    "credit_refunded_entry",
    "currency_exponent",
    "disbursement_entry",
    "due_dates",
    "instalment_positions",
    "interest_due_entry",
    "payment_entry",
    "payment_reversal_entry",
    "period_rate",
    "replay_allocations",
    "rewrite_remaining_schedule",
    "round_minor",
    "to_major",
    "to_minor",
    "trial_balance_ok",
    "what_is_owed",
]
