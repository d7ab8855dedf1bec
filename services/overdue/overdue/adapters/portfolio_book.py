"""Portfolio figures counted in the database: the book never travels to Python.

A loan's bucket at the close of a date is its latest bucket transition on or before that
date, or the current bucket for a loan disbursed by then that never moved. Roll rates
and the cure rate need only how many loans went from each bucket at A to each bucket at
B (``None``: not in that snapshot), one row per pair of buckets.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_SNAPSHOT = """
    SELECT l.loan_id, coalesce(h.to_bucket, :current) AS bucket
    FROM loans l
    LEFT JOIN (
        SELECT DISTINCT ON (loan_id) loan_id, to_bucket
        FROM bucket_history WHERE business_date <= :{on}
        ORDER BY loan_id, business_date DESC, id DESC
    ) h ON h.loan_id = l.loan_id
    WHERE l.disbursed_on <= :{on}
"""

_MOVES = text(
    f"""
    WITH a AS ({_SNAPSHOT.format(on="start")}), b AS ({_SNAPSHOT.format(on="end")})
    SELECT a.bucket AS from_bucket, b.bucket AS to_bucket, count(*) AS loans
    FROM a FULL JOIN b ON b.loan_id = a.loan_id
    GROUP BY 1, 2
    """
)


async def bucket_moves(
    session: AsyncSession, start: date, end: date, current: str
) -> dict[tuple[str | None, str | None], int]:
    """Loans per (bucket at the close of ``start``, bucket at the close of ``end``)."""
    rows = await session.execute(_MOVES, {"start": start, "end": end, "current": current})
    return {(r.from_bucket, r.to_bucket): int(r.loans) for r in rows}
