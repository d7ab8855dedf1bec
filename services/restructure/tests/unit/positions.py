"""Loan positions for the restructure unit tests, built with the kit's schedule math."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lendkit.schedules import ScheduleType, regular_schedule
from restructure.domain.position import LoanPosition, LoanTerms


def position(
    *,
    principal: int = 1_200_000,
    annual_rate: Decimal = Decimal("0.12"),
    term: int = 12,
    paid: int = 2,
    as_of: date = date(2026, 4, 15),
    schedule_type: ScheduleType = ScheduleType.ANNUITY,
    penalty: int = 0,
    fee: int = 0,
    dpd: int = 14,
) -> LoanPosition:
    """A loan disbursed 2026-01-01, first due 2026-02-01, ``paid`` instalments paid."""
    terms = LoanTerms("CNY", annual_rate, schedule_type)
    schedule = regular_schedule(
        principal,
        annual_rate=annual_rate,
        term=term,
        first_due_date=date(2026, 2, 1),
        start_seq=1,
        schedule_type=schedule_type,
        frequency=terms.frequency,
        day_count=terms.day_count,
        rounding=terms.rounding,
    )
    return LoanPosition(
        loan_id="L-1",
        as_of=as_of,
        terms=terms,
        unpaid=schedule[paid:],
        penalty=penalty,
        fee=fee,
        dpd=dpd,
    )
