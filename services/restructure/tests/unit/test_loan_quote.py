"""The prospective loan quote is the kit's schedule, with plain-language penalty terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lendkit.schedules import ScheduleType, new_loan_schedule
from lendkit.schedules.money import Rounding
from lendkit.schedules.periods import DayCount, Frequency
from restructure.domain.loan_quote import PenaltyTerms, quote_loan

PENALTY = PenaltyTerms(Decimal("0.0005"), 3, Decimal("0.24"))


def test_a_zero_rate_loan_costs_nothing_and_says_so() -> None:
    q = quote_loan(
        120_000,
        "CNY",
        annual_rate=Decimal(0),
        term=12,
        disbursed_on=date(2026, 1, 31),
        first_due_date=None,
        schedule_type=ScheduleType.EQUAL_PRINCIPAL,
        penalty=PENALTY,
    )
    assert [i.due_date for i in q.instalments[:3]] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert q.total_interest == 0 and q.effective_annual_cost == Decimal("0.0000")
    assert (
        "0.05% a day" in q.penalty_text and "3 days" in q.penalty_text and "24%" in q.penalty_text
    )


def test_the_quote_is_the_schedule_the_ledger_books() -> None:
    kwargs = dict(
        annual_rate=Decimal("0.18"),
        term=24,
        disbursed_on=date(2026, 3, 3),
        first_due_date=date(2026, 4, 15),
        schedule_type=ScheduleType.ANNUITY,
        frequency=Frequency.MONTHLY,
        day_count=DayCount.ACT_360,
        rounding=Rounding.HALF_UP,
    )
    q = quote_loan(500_000, "CNY", penalty=PENALTY, **kwargs)  # type: ignore[arg-type]
    assert q.instalments == new_loan_schedule(500_000, **kwargs)  # type: ignore[arg-type]
