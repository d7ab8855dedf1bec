"""A loan quote for a prospective borrower, from the schedule math the ledger books with
(:func:`lendkit.schedules.new_loan_schedule`): the exact schedule, total interest, the
effective annual cost and the penalty terms in plain language (en or zh-CN)."""

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
    new_loan_schedule,
    to_major,
)
from restructure.domain.cost import effective_annual_cost


@dataclass(frozen=True)
class PenaltyTerms:
    daily_rate: Decimal
    grace_days: int
    annual_cap: Decimal


@dataclass(frozen=True)
class LoanQuote:
    currency: str
    principal: int
    instalments: tuple[ScheduledInstalment, ...]
    effective_annual_cost: Decimal
    penalty_text: str

    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.instalments)

    @property
    def total_payment(self) -> int:
        return self.principal + self.total_interest


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def penalty_text(terms: PenaltyTerms, locale: str) -> str:
    """The penalty terms in plain language."""
    daily, cap = _percent(terms.daily_rate), _percent(terms.annual_cap)
    if locale == "zh-CN":
        return (
            f"逾期超过{terms.grace_days}天后，按逾期本金每日{daily}计收罚息；"
            f"罚息不计复利；利息、罚息与费用合计年化不超过{cap}。"
        )
    return (
        f"If an instalment is more than {terms.grace_days} days late, penalty interest of "
        f"{daily} a day is charged on the overdue principal. No interest is ever charged on "
        f"penalties, and interest, penalties and fees together never exceed {cap} a year."
    )


def quote_loan(
    principal: int,
    currency: str,
    *,
    annual_rate: Decimal,
    term: int,
    disbursed_on: date,
    first_due_date: date | None,
    schedule_type: ScheduleType,
    frequency: Frequency = Frequency.MONTHLY,
    day_count: DayCount = DayCount.ACT_365,
    rounding: Rounding = Rounding.HALF_EVEN,
    penalty: PenaltyTerms,
    locale: str = "en",
) -> LoanQuote:
    """The quote of a new loan exactly as the ledger would book it."""
    to_major(principal, currency)  # refuses an unknown currency
    instalments = new_loan_schedule(
        principal,
        annual_rate=annual_rate,
        term=term,
        disbursed_on=disbursed_on,
        first_due_date=first_due_date,
        schedule_type=schedule_type,
        frequency=frequency,
        day_count=day_count,
        rounding=rounding,
    )
    cost = effective_annual_cost(
        principal, disbursed_on, [(i.due_date, i.total) for i in instalments]
    )
    return LoanQuote(currency, principal, instalments, cost, penalty_text(penalty, locale))
