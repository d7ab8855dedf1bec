"""What the ledger knows about its business days: the last closed day, when it was closed,
which penalties arrived for it; and the payments dated where no business day can be."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.adapters.tables import charges, cob_runs
from ledger.domain.clock import ClosedDay

__all__ = ["BusinessDays", "ClosedDay", "DatedPayment"]


async def last_closed_day(session: AsyncSession) -> ClosedDay | None:
    """The latest business day closed, and when (None before the first close)."""
    row = (
        await session.execute(
            select(cob_runs.c.business_date, cob_runs.c.created_at)
            .order_by(cob_runs.c.business_date.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else ClosedDay(row.business_date, row.created_at)


async def penalty_booked_for(session: AsyncSession, loan_id: str, business_date: date) -> bool:
    """Whether a penalty (or fee) assessed for ``business_date`` was booked on the loan."""
    found = await session.scalar(
        select(
            exists().where(
                charges.c.loan_id == loan_id,
                charges.c.business_date == business_date,
                charges.c.kind == "assessed",
            )
        )
    )
    return bool(found)


@dataclass(frozen=True)
class DatedPayment:
    loan_id: str
    payment_id: str
    value_date: str  # as PostgreSQL has it: an ISO date, or "infinity"/"-infinity"
    timezone: str


_OUT_OF_RANGE = text(
    """
    SELECT p.loan_id, p.payment_id::text AS payment_id, p.value_date::text AS value_date,
           l.timezone
    FROM payments p JOIN loans l ON l.loan_id = p.loan_id
    WHERE NOT p.reversed
      AND (NOT isfinite(p.value_date) OR p.value_date > CAST(:latest AS date))
    ORDER BY p.loan_id, p.receipt_order
    """
)


async def payments_dated_after(session: AsyncSession, latest: date) -> list[DatedPayment]:
    """Live payments valued after ``latest`` or at +/-infinity (what PostgreSQL makes of
    9999-12-31 and 0001-01-01)."""
    rows = (await session.execute(_OUT_OF_RANGE, {"latest": latest})).all()
    return [DatedPayment(r.loan_id, r.payment_id, r.value_date, r.timezone) for r in rows]


async def redate_misdated(session: AsyncSession, loan_id: str, payment_id: str, on: date) -> int:
    """Move a misdated payment, and the loan's journal entries dated after ``on`` (or at
    infinity), to ``on``; the number of entries moved. Only for the repair of payments
    dated where no business day can be: nothing can be loaded or replayed at infinity."""
    await session.execute(
        text("UPDATE payments SET value_date = CAST(:on AS date) WHERE payment_id = :p"),
        {"p": payment_id, "on": on},
    )
    result = await session.execute(
        text(
            "UPDATE journal_entries SET business_date = CAST(:on AS date) "
            "WHERE loan_id = :loan_id AND "
            "(NOT isfinite(business_date) OR business_date > CAST(:on AS date))"
        ),
        {"loan_id": loan_id, "on": on},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class BusinessDays:
    """The business days on the unit of work's session (``uow.business_days``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last_closed(self) -> ClosedDay | None:
        return await last_closed_day(self.session)

    async def penalty_booked_for(self, loan_id: str, business_date: date) -> bool:
        return await penalty_booked_for(self.session, loan_id, business_date)

    async def payments_dated_after(self, latest: date) -> list[DatedPayment]:
        return await payments_dated_after(self.session, latest)

    async def redate_misdated(self, loan_id: str, payment_id: str, on: date) -> int:
        return await redate_misdated(self.session, loan_id, payment_id, on)
