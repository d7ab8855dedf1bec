"""What each close of business found for the loans past due on its date (``loan_days``),
and the questions a past day's explanation asks of the recorded history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from overdue.adapters.tables import cob_runs, loan_days, penalty_waivers
from overdue.domain.arrears import Arrears, OverdueBreakdown


@dataclass(frozen=True)
class LoanDay:
    """One loan past due at the close of one date."""

    loan_id: str
    oldest_unpaid_due_date: date
    dpd: int
    bucket: str
    stage: str
    overdue: OverdueBreakdown


_WRITE_LOAN_DAYS = """
INSERT INTO loan_days
    (loan_id, business_date, oldest_unpaid_due_date, dpd, bucket, stage,
     overdue_principal_minor, overdue_interest_minor, overdue_penalty_minor, overdue_fee_minor)
SELECT u.loan_id, $2, u.oldest, u.dpd, u.bucket, u.stage, u.principal, u.interest, u.penalty,
       u.fee
FROM unnest($1::text[], $3::date[], $4::int[], $5::text[], $6::text[], $7::bigint[],
            $8::bigint[], $9::bigint[], $10::bigint[])
    AS u(loan_id, oldest, dpd, bucket, stage, principal, interest, penalty, fee)
ON CONFLICT (loan_id, business_date) DO NOTHING
"""


async def write_loan_days(conn: Any, on: date, days: Sequence[LoanDay]) -> None:
    """One statement for a chunk's loans past due on ``on`` (asyncpg ``conn``)."""
    if not days:
        return
    await conn.execute(
        _WRITE_LOAN_DAYS,
        [d.loan_id for d in days],
        on,
        [d.oldest_unpaid_due_date for d in days],
        [d.dpd for d in days],
        [d.bucket for d in days],
        [d.stage for d in days],
        [d.overdue.principal_minor for d in days],
        [d.overdue.interest_minor for d in days],
        [d.overdue.penalty_minor for d in days],
        [d.overdue.fees_minor for d in days],
    )


async def loan_days_since(
    session: AsyncSession, loan_id: str, since: date
) -> list[tuple[date, LoanDay]]:
    rows = await session.execute(
        select(loan_days).where(loan_days.c.loan_id == loan_id, loan_days.c.business_date >= since)
    )
    return [
        (
            r.business_date,
            LoanDay(
                r.loan_id,
                r.oldest_unpaid_due_date,
                r.dpd,
                r.bucket,
                r.stage,
                OverdueBreakdown(
                    int(r.overdue_principal_minor),
                    int(r.overdue_interest_minor),
                    int(r.overdue_penalty_minor),
                    int(r.overdue_fee_minor),
                ),
            ),
        )
        for r in rows
    ]


async def revise_loan_days(
    session: AsyncSession, loan_id: str, revised: Sequence[tuple[date, OverdueBreakdown | None]]
) -> None:
    """Set the recorded past-due amounts of these days (``None``: not past due after all)."""
    gone = [on for on, o in revised if o is None or o.principal_minor + o.interest_minor == 0]
    if gone:
        await session.execute(
            delete(loan_days).where(
                loan_days.c.loan_id == loan_id, loan_days.c.business_date.in_(gone)
            )
        )
    for on, o in revised:
        if o is None or on in gone:
            continue
        await session.execute(
            update(loan_days)
            .where(loan_days.c.loan_id == loan_id, loan_days.c.business_date == on)
            .values(
                overdue_principal_minor=o.principal_minor,
                overdue_interest_minor=o.interest_minor,
                overdue_penalty_minor=o.penalty_minor,
                overdue_fee_minor=o.fees_minor,
            )
        )


async def day_is_closed(session: AsyncSession, on: date) -> bool:
    """Whether close of business finished for ``on``."""
    finished = await session.scalar(
        select(cob_runs.c.finished_at.is_not(None)).where(cob_runs.c.business_date == on)
    )
    return bool(finished)


async def arrears_recorded(session: AsyncSession, loan_id: str, on: date) -> Arrears | None:
    """The loan's arrears as the close of ``on`` recorded them (None: not past due then)."""
    row = (
        await session.execute(
            select(loan_days).where(loan_days.c.loan_id == loan_id, loan_days.c.business_date == on)
        )
    ).first()
    if row is None:
        return None
    return Arrears(
        oldest_unpaid_due_date=row.oldest_unpaid_due_date,
        overdue=OverdueBreakdown(
            int(row.overdue_principal_minor),
            int(row.overdue_interest_minor),
            int(row.overdue_penalty_minor),
            int(row.overdue_fee_minor),
        ),
    )


async def waived_by(session: AsyncSession, loan_id: str, on: date) -> int:
    """Penalty waived with a business date on or before ``on`` (as booked, or as asked
    until the ledger confirmed)."""
    total = await session.scalar(
        select(
            func.coalesce(
                func.sum(
                    func.coalesce(penalty_waivers.c.booked_minor, penalty_waivers.c.amount_minor)
                ),
                0,
            )
        ).where(penalty_waivers.c.loan_id == loan_id, penalty_waivers.c.business_date <= on)
    )
    return int(total or 0)
