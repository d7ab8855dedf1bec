"""Pure schedule arithmetic shared by the ledger (bookings) and restructure (quotes).

Money rounding (:mod:`.money`), periods and day counts (:mod:`.periods`) and
amortisation (:mod:`.amortise`). No I/O: written once, imported everywhere.
"""

from __future__ import annotations

from lendkit.schedules.amortise import (
    ScheduledInstalment,
    ScheduleType,
    amortise,
    annuity_payment,
    new_loan_schedule,
    regular_schedule,
)
from lendkit.schedules.errors import InvalidSchedule, ScheduleMathError, UnknownCurrency
from lendkit.schedules.money import (
    CALCULATION_PRECISION,
    Rounding,
    currency_exponent,
    round_minor,
    to_major,
    to_minor,
)
from lendkit.schedules.periods import (
    DayCount,
    Frequency,
    add_months,
    due_dates,
    first_period_rate,
    next_due_date,
    period_rate,
)

__all__ = [
    "CALCULATION_PRECISION",
    "DayCount",
    "Frequency",
    "InvalidSchedule",
    "Rounding",
    "ScheduleMathError",
    "ScheduleType",
    "ScheduledInstalment",
    "UnknownCurrency",
    "add_months",
    "amortise",
    "annuity_payment",
    "currency_exponent",
    "due_dates",
    "first_period_rate",
    "new_loan_schedule",
    "next_due_date",
    "period_rate",
    "regular_schedule",
    "round_minor",
    "to_major",
    "to_minor",
]
