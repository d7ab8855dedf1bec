"""The read side's queries (``ledger.views`` shapes what they return).

Every query a view needs lives here, on the route's read session, except one: the hot
``GET /loans/{loan_id}`` document (:func:`loan_detail_document`) is read through the
runtime's plain asyncpg pool (``ServiceRuntime.reads()``) in one round trip, the JSON
built by PostgreSQL, no ORM and no session: it is benchmarked, and a session would double
its cost. ``tests/integration/test_api_contract.py`` checks its shape against
``entrypoints.schemas.LoanDetail``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.adapters.close_of_business import COB_LOCK
from ledger.adapters.records import LoanRecord
from ledger.adapters.repository import loan_record
from ledger.adapters.tables import (
    allocation_lines,
    allocations,
    journal_entries,
    journal_lines,
    loans,
    payments,
    schedule_versions,
)

# The hot read path: one round trip, the document built by PostgreSQL, no ORM.
LOAN_DETAIL_SQL = """
SELECT l.borrower_id, json_build_object(
    'loan_id', l.loan_id, 'borrower_id', l.borrower_id, 'product_code', l.product_code,
    'currency', l.currency, 'principal_minor', l.principal, 'annual_rate', l.annual_rate,
    'disbursed_on', l.disbursed_on, 'timezone', l.timezone, 'status', l.status,
    'settled_on', l.settled_on, 'schedule_version', l.schedule_version,
    'balances', json_build_object(
        'penalty_minor', coalesce(s.penalty, 0), 'fee_minor', coalesce(s.fee, 0),
        'interest_minor', coalesce(s.interest, 0), 'principal_minor', coalesce(s.principal, 0),
        'credit_minor', l.credit_balance),
    'schedule', coalesce(s.items, '[]'::json)
)::text
FROM loans l
LEFT JOIN LATERAL (
    SELECT sum(i.outstanding_penalty) AS penalty, sum(i.outstanding_fee) AS fee,
           sum(i.outstanding_interest) AS interest, sum(i.outstanding_principal) AS principal,
           json_agg(json_build_object(
               'seq', i.seq, 'due_date', i.due_date,
               'principal_minor', i.principal, 'interest_minor', i.interest,
               'outstanding', json_build_object(
                   'principal_minor', i.outstanding_principal,
                   'interest_minor', i.outstanding_interest,
                   'penalty_minor', i.outstanding_penalty, 'fee_minor', i.outstanding_fee),
               'settled_on', i.settled_on) ORDER BY i.seq) AS items
    FROM instalments i
    WHERE i.loan_id = l.loan_id AND i.version = l.schedule_version
) s ON true
WHERE l.loan_id = $1
"""


async def loan_detail_document(pool: asyncpg.Pool, loan_id: str) -> tuple[str, bytes] | None:
    """(borrower id, JSON document) of the loan detail, or None."""
    row = await pool.fetchrow(LOAN_DETAIL_SQL, loan_id)
    if row is None:
        return None
    return row[0], row[1].encode()


async def schedule_effective_date(session: AsyncSession, loan_id: str, version: int) -> date | None:
    """The day schedule ``version`` of the loan took effect."""
    return await session.scalar(
        select(schedule_versions.c.effective_date).where(
            schedule_versions.c.loan_id == loan_id,
            schedule_versions.c.version == version,
        )
    )


async def loans_after(
    session: AsyncSession,
    *,
    borrower_id: str | None,
    status: str | None,
    after: str | None,
    limit: int,
) -> list[LoanRecord]:
    """Up to ``limit`` loans by loan id, after ``after``."""
    query = select(loans).order_by(loans.c.loan_id).limit(limit)
    if borrower_id is not None:
        query = query.where(loans.c.borrower_id == borrower_id)
    if status is not None:
        query = query.where(loans.c.status == status)
    if after is not None:
        query = query.where(loans.c.loan_id > after)
    return [loan_record(row) for row in (await session.execute(query)).all()]


async def payment_rows(session: AsyncSession, loan_id: str) -> Sequence[Row[Any]]:
    """The loan's payments in receipt order."""
    return (
        await session.execute(
            select(payments).where(payments.c.loan_id == loan_id).order_by(payments.c.receipt_order)
        )
    ).all()


async def current_payment_allocation_lines(
    session: AsyncSession, loan_id: str
) -> Sequence[Row[Any]]:
    """The current allocations of the loan's payments, one row per line (``seq`` None for
    an allocation without lines)."""
    return (
        await session.execute(
            select(allocations.c.source_id, allocations.c.credit, allocation_lines)
            .select_from(allocations.outerjoin(allocation_lines))
            .where(
                allocations.c.loan_id == loan_id,
                allocations.c.source_kind == "payment",
                allocations.c.current,
            )
            .order_by(allocations.c.allocation_id, allocation_lines.c.line_no)
        )
    ).all()


async def journal_rows(session: AsyncSession, loan_id: str) -> Sequence[Row[Any]]:
    """The loan's journal entries with their lines, in entry and line order."""
    return (
        await session.execute(
            select(
                journal_entries,
                journal_lines.c.line_no,
                journal_lines.c.account,
                journal_lines.c.debit,
                journal_lines.c.credit,
            )
            .select_from(journal_entries.join(journal_lines))
            .where(journal_entries.c.loan_id == loan_id)
            .order_by(journal_entries.c.entry_no, journal_lines.c.line_no)
        )
    ).all()


_STATEMENT = text(
    """
    SELECT e.entry_no, e.business_date, e.memo, e.reference, l.account,
           sum(l.debit - l.credit) AS amount
    FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.entry_id
    WHERE e.loan_id = :loan_id AND l.account = ANY(:accounts) AND e.business_date <= :end
    GROUP BY e.entry_no, e.business_date, e.memo, e.reference, l.account
    ORDER BY e.business_date, e.entry_no
    """
)


async def statement_rows(
    session: AsyncSession, loan_id: str, accounts: Sequence[str], end: date
) -> Sequence[Row[Any]]:
    """Per journal entry up to ``end`` and account in ``accounts``: the net debit."""
    return (
        await session.execute(
            _STATEMENT, {"loan_id": loan_id, "accounts": list(accounts), "end": end}
        )
    ).all()


_RECONCILE = text(
    """
    WITH journal AS (
        SELECT loan_id,
               sum(debit) AS debits, sum(credit) AS credits,
               sum(debit - credit) FILTER (WHERE account = 'LOAN_PRINCIPAL') AS principal,
               sum(debit - credit) FILTER (WHERE account = 'INTEREST_RECEIVABLE') AS interest,
               sum(debit - credit) FILTER (WHERE account = 'PENALTY_RECEIVABLE') AS penalty,
               sum(debit - credit) FILTER (WHERE account = 'FEE_RECEIVABLE') AS fee,
               -sum(debit - credit) FILTER (WHERE account = 'BORROWER_CREDIT') AS credit
        FROM journal_lines GROUP BY loan_id
    ), tables AS (
        SELECT l.loan_id,
               sum(i.outstanding_principal) AS principal,
               sum(i.outstanding_interest)
                   - coalesce(sum(i.interest) FILTER (WHERE NOT i.interest_recognised), 0) AS interest,
               sum(i.outstanding_penalty) AS penalty,
               sum(i.outstanding_fee) AS fee,
               max(l.credit_balance) AS credit
        FROM loans l JOIN instalments i
             ON i.loan_id = l.loan_id AND i.version = l.schedule_version
        GROUP BY l.loan_id
    ), per_loan AS (
        SELECT t.loan_id,
               coalesce(j.debits, 0) AS debits, coalesce(j.credits, 0) AS credits,
               coalesce(j.principal, 0) AS j_principal, t.principal AS t_principal,
               coalesce(j.interest, 0) AS j_interest, coalesce(t.interest, 0) AS t_interest,
               coalesce(j.penalty, 0) AS j_penalty, t.penalty AS t_penalty,
               coalesce(j.fee, 0) AS j_fee, t.fee AS t_fee,
               coalesce(j.credit, 0) AS j_credit, t.credit AS t_credit
        FROM tables t LEFT JOIN journal j ON j.loan_id = t.loan_id
    ), mismatched AS (
        SELECT * FROM per_loan
        WHERE j_principal <> t_principal OR j_interest <> t_interest
           OR j_penalty <> t_penalty OR j_fee <> t_fee OR j_credit <> t_credit
           OR debits <> credits
    ), totals AS (
        SELECT (SELECT count(*) FROM per_loan) AS loans,
               (SELECT coalesce(sum(debits), 0) FROM per_loan) AS all_debits,
               (SELECT coalesce(sum(credits), 0) FROM per_loan) AS all_credits,
               (SELECT count(*) FROM mismatched) AS mismatched_loans
    )
    SELECT totals.*, m.*
    FROM totals
    LEFT JOIN LATERAL (
        SELECT * FROM mismatched ORDER BY loan_id LIMIT :limit
    ) m ON true
    """
)


async def reconciliation_rows(session: AsyncSession, limit: int) -> Sequence[Row[Any]]:
    """The totals, with the first ``limit`` mismatching loans (one row each; one row with
    ``loan_id`` None when none mismatch)."""
    return (await session.execute(_RECONCILE, {"limit": limit})).all()


_CLOCK = text(
    """
    SELECT min(c.business_date) AS first_closed, max(c.business_date) AS last_closed,
           max(c.created_at) AS last_closed_at,
           EXISTS (
               SELECT 1 FROM pg_locks k
               WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1
                 AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND k.classid = CAST(CAST(:key AS bigint) >> 32 AS bigint)::oid
                 AND k.objid = CAST(CAST(:key AS bigint) & 4294967295 AS bigint)::oid
           ) AS close_running
    FROM cob_runs c
    """
)


async def clock_state(session: AsyncSession) -> Row[Any]:
    """The first and last closed business days, when the last was closed, and whether a
    close of business holds its lock right now (``adapters.close_of_business``)."""
    return (await session.execute(_CLOCK, {"key": COB_LOCK})).one()
