"""A close-of-business chunk's loans, locked, and then read with their instalment aggregates.

Two statements on the caller's asyncpg connection, in its transaction, whatever the chunk
size. The lock comes first and alone: under READ COMMITTED a statement that waited for a
row lock sees the locked row as committed by the other transaction, but every other table
as it was when the statement started. Locking and aggregating the instalments in one
statement would pair a consumer's fresh loan row (a payment just applied) with the
instalments from before that payment: a penalty on an instalment just paid, an inflated
base, DPD from mixed data. The read is a new statement, so it sees everything committed
before the lock was granted, and nothing can change these loans until the chunk commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

_LOCK = """
SELECT loan_id FROM loans
WHERE loan_id = ANY($1::text[]) AND oldest_unpaid_due_date <= $2 AND NOT paused
FOR UPDATE
"""
# (The filter is checked again on the row as it is after a lock wait: a loan the waited-for
# payment cured is not locked, and not read.)

_READ = """
SELECT l.*, a.*
FROM loans l
CROSS JOIN LATERAL (
    SELECT
        coalesce(sum(i.principal_minor) FILTER (WHERE i.due_date < $2), 0)::bigint AS overdue_principal,
        coalesce(sum(i.interest_minor) FILTER (WHERE i.due_date < $2), 0)::bigint AS overdue_interest,
        coalesce(sum(i.penalty_minor) FILTER (WHERE i.due_date < $2), 0)::bigint AS overdue_penalty,
        coalesce(sum(i.fee_minor) FILTER (WHERE i.due_date < $2), 0)::bigint AS overdue_fee,
        min(i.seq) FILTER (
            WHERE i.due_date < $2 AND i.principal_minor + i.interest_minor > 0
        ) AS oldest_unpaid_seq,
        coalesce(sum(i.scheduled_interest_minor) FILTER (WHERE i.due_date <= $2), 0)::bigint
            AS interest_charged
    FROM instalments i WHERE i.loan_id = l.loan_id
) a
WHERE l.loan_id = ANY($1::text[])
"""


async def lock_and_read_due_loans(
    conn: Any, loan_ids: Sequence[str], business_date: date
) -> list[Any]:
    """Lock those of ``loan_ids`` that are due or overdue on ``business_date`` and not
    paused (``FOR UPDATE``: a consumer applying a payment or a delivered notice to one of
    them waits until the caller commits), then read them with their instalment aggregates
    (past-due amounts by component, the oldest unpaid instalment, scheduled interest to
    date). ``conn`` is an asyncpg connection."""
    locked = [r["loan_id"] for r in await conn.fetch(_LOCK, list(loan_ids), business_date)]
    if not locked:
        return []
    rows: list[Any] = await conn.fetch(_READ, locked, business_date)
    return rows
