"""Loans a close of business could not review: their product has no valid overdue policy.

Such a loan is never given a default policy. Close of business records it here for the
date (with its product and the reason), charges no penalty and emits no DPD-driven event
for it; the first close of business after the product's policy arrives reviews it
normally (see ``service_layer.close_of_business``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overdue.adapters.tables import blocked_loan_days

_RECORD = """
INSERT INTO blocked_loan_days (business_date, loan_id, product_code, reason)
SELECT $1, u.loan_id, u.product_code, u.reason
FROM unnest($2::text[], $3::text[], $4::text[]) AS u(loan_id, product_code, reason)
ON CONFLICT (business_date, loan_id) DO NOTHING
"""

_COUNT = "SELECT count(*) FROM blocked_loan_days WHERE business_date = $1"


@dataclass(frozen=True)
class BlockedLoan:
    loan_id: str
    product_code: str
    reason: str


async def record_blocked_loans(conn: Any, on: date, blocked: list[BlockedLoan]) -> None:
    """Record ``blocked`` for ``on`` in one statement (``conn``: the chunk's asyncpg
    connection, inside its transaction)."""
    if not blocked:
        return
    await conn.execute(
        _RECORD,
        on,
        [b.loan_id for b in blocked],
        [b.product_code for b in blocked],
        [b.reason for b in blocked],
    )


async def count_blocked_loans(conn: Any, on: date) -> int:
    count: int = await conn.fetchval(_COUNT, on)
    return count


async def blocked_loans_on(
    session: AsyncSession, on: date, *, after: str | None, limit: int
) -> tuple[int, list[BlockedLoan]]:
    """How many loans were blocked on ``on``, and a page of them in ``loan_id`` order."""
    total = await session.scalar(
        select(func.count()).where(blocked_loan_days.c.business_date == on)
    )
    query = select(
        blocked_loan_days.c.loan_id, blocked_loan_days.c.product_code, blocked_loan_days.c.reason
    ).where(blocked_loan_days.c.business_date == on)
    if after is not None:
        query = query.where(blocked_loan_days.c.loan_id > after)
    rows = await session.execute(query.order_by(blocked_loan_days.c.loan_id).limit(limit))
    return int(total or 0), [BlockedLoan(r.loan_id, r.product_code, r.reason) for r in rows]
