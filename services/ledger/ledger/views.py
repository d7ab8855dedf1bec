"""The read side: what the REST API shows (loan detail, owed, payments, statement, journal,
reconciliation). Reads only; the write side is in ``service_layer``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.adapters.business_days import last_closed_day, penalty_booked_for
from ledger.adapters.records import InstalmentRecord, LoanRecord
from ledger.adapters.repository import LoanRepository, loan_record
from ledger.adapters.tables import (
    allocation_lines,
    allocations,
    journal_entries,
    journal_lines,
    loans,
    payments,
    schedule_versions,
)
from ledger.domain import (
    Account,
    Component,
    InstalmentDue,
    InstalmentPosition,
    Payment,
    replay_allocations,
    what_is_owed,
)
from ledger.service_layer.clock import LedgerClock
from ledger.service_layer.resettlement import net_charges
from ledger.service_layer.shapes import balance, contract_component


def _components(amounts: dict[Component, int]) -> dict[str, int]:
    return {f"{c.value.lower()}_minor": amounts.get(c, 0) for c in Component}


def loan_summary(loan: LoanRecord) -> dict[str, Any]:
    return {
        "loan_id": loan.loan_id,
        "borrower_id": loan.borrower_id,
        "product_code": loan.product_code,
        "currency": loan.currency,
        "principal_minor": loan.principal,
        "annual_rate": str(loan.annual_rate),
        "disbursed_on": loan.disbursed_on.isoformat(),
        "timezone": loan.timezone,
        "status": loan.status,
        "settled_on": loan.settled_on.isoformat() if loan.settled_on else None,
        "schedule_version": loan.schedule_version,
    }


# The hot read path: one round trip, the document built by PostgreSQL, no ORM. Same shape
# as ``loan_detail`` below (a test compares them).
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


def loan_detail(loan: LoanRecord, schedule: list[InstalmentRecord]) -> dict[str, Any]:
    """Loan with its current schedule and balances by component (credit held separately)."""
    totals = {c: sum(i.outstanding[c] for i in schedule) for c in Component}
    return {
        **loan_summary(loan),
        "balances": {**_components(totals), "credit_minor": loan.credit_balance},
        "schedule": [
            {
                "seq": i.seq,
                "due_date": i.due_date.isoformat(),
                "principal_minor": i.principal,
                "interest_minor": i.interest,
                "outstanding": balance(i).model_dump(
                    mode="json",
                    include={"principal_minor", "interest_minor", "penalty_minor", "fee_minor"},
                ),
                "settled_on": i.settled_on.isoformat() if i.settled_on else None,
            }
            for i in schedule
        ],
    }


def owed_breakdown(
    loan: LoanRecord,
    outstanding: Sequence[InstalmentDue],
    as_of: date,
    credit: int,
    *,
    pending_penalty_day: date | None = None,
) -> dict[str, Any]:
    """'What do I owe today and why', from the domain's ``what_is_owed``; while a closed
    day's penalty is awaited (``pending_penalty_day``), marked as settling."""
    positions = [InstalmentPosition(i.seq, i.due_date, dict(i.outstanding)) for i in outstanding]
    owed = what_is_owed(positions, as_of, loan.currency)
    summary = owed.summary
    if pending_penalty_day is not None:
        summary += (
            f" Business day {pending_penalty_day.isoformat()} has just been closed and its "
            "penalty may still be added: ask again before paying."
        )
    return {
        "loan_id": loan.loan_id,
        "as_of": as_of.isoformat(),
        "settling": pending_penalty_day is not None,
        "pending_penalty_day": pending_penalty_day.isoformat() if pending_penalty_day else None,
        "currency": loan.currency,
        "total_minor": owed.total,
        "by_component": _components(owed.by_component),
        "not_yet_due_minor": owed.not_yet_due,
        "credit_minor": credit,
        "summary": summary,
        "instalments": [
            {
                "seq": i.seq,
                "due_date": i.due_date.isoformat(),
                "days_overdue": i.days_overdue,
                "total_minor": i.total,
                "amounts": _components(dict(i.amounts)),
                "reason": i.reason,
            }
            for i in owed.instalments
        ],
    }


async def outstanding_as_of(
    session: AsyncSession, loan_id: str, as_of: date
) -> tuple[LoanRecord, tuple[InstalmentDue, ...], int]:
    """The loan's instalments as they stood at the end of ``as_of`` (and credit then held).

    When no payment or charge is dated after ``as_of`` that is the stored position;
    otherwise the domain's replay of what was dated up to ``as_of``. A date before the
    current schedule version (a restructuring) is refused: that schedule no longer exists.
    """
    repo = LoanRepository(session)
    state = await repo.load(loan_id, history=False)
    if state is None:
        raise LookupError(loan_id)
    later = [d for d in (state.latest_payment_date, state.latest_charge_date) if d and d > as_of]
    if not later:
        dues = tuple(
            InstalmentDue(i.seq, i.due_date, dict(i.outstanding)) for i in state.instalments
        )
        return state.loan, dues, state.loan.credit_balance
    if state.loan.schedule_version > 1:
        effective = await session.scalar(
            select(schedule_versions.c.effective_date).where(
                schedule_versions.c.loan_id == loan_id,
                schedule_versions.c.version == state.loan.schedule_version,
            )
        )
        if effective is not None and as_of < effective:
            raise ValueError(f"the current schedule starts on {effective}; ask for a later date")
    await repo.load_history(state)
    outcome = replay_allocations(
        [i.contractual() for i in state.instalments],
        [
            Payment(p.payment_id, p.value_date, p.amount, p.receipt_order, p.reversed)
            for p in state.payments
            if p.value_date <= as_of
        ],
        [c for c in net_charges(state.charges) if c.booked_on <= as_of],
        state.product.allocation_order,
    )
    return state.loan, outcome.outstanding, outcome.credit


async def pending_penalty_day(
    session: AsyncSession,
    clock: LedgerClock,
    loan_id: str,
    outstanding: Sequence[InstalmentDue],
    as_of: date,
) -> date | None:
    """The last closed business day D, while its penalty may still arrive for this loan.

    What the ledger knows: it closed D (and when), the loan was in arrears at the end of D
    (an instalment due before D still owed something: the overdue service may assess a
    penalty for D), and no penalty for D has been booked on the loan. Bounded by
    ``clock.settle_seconds`` after the close: a loan in its penalty grace, paused or at its
    cap gets no penalty, and would otherwise look unsettled all day. None when ``as_of``
    is before D.
    """
    closed = await last_closed_day(session)
    if closed is None or as_of < closed.business_date:
        return None
    day = closed.business_date
    if (clock.now() - closed.closed_at).total_seconds() >= clock.settle_seconds:
        return None
    if await penalty_booked_for(session, loan_id, day):
        return None
    if as_of != day:
        _, outstanding, _ = await outstanding_as_of(session, loan_id, day)
    in_arrears = any(i.due_date < day and sum(i.outstanding.values()) > 0 for i in outstanding)
    return day if in_arrears else None


async def list_loans(
    session: AsyncSession,
    *,
    borrower_id: str | None,
    status: str | None,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = select(loans).order_by(loans.c.loan_id).limit(limit)
    if borrower_id is not None:
        query = query.where(loans.c.borrower_id == borrower_id)
    if status is not None:
        query = query.where(loans.c.status == status)
    if after is not None:
        query = query.where(loans.c.loan_id > after)
    return [loan_summary(loan_record(row)) for row in (await session.execute(query)).all()]


async def payments_of(session: AsyncSession, loan_id: str) -> list[dict[str, Any]]:
    """Every payment with its current allocation (none once reversed)."""
    rows = (
        await session.execute(
            select(payments).where(payments.c.loan_id == loan_id).order_by(payments.c.receipt_order)
        )
    ).all()
    lines = (
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
    by_payment: dict[str, dict[str, Any]] = {}
    for r in lines:
        alloc = by_payment.setdefault(r.source_id, {"lines": [], "credit_minor": r.credit})
        if r.seq is not None:
            alloc["lines"].append(
                {
                    "seq": r.seq,
                    "component": contract_component(Component(r.component)).value,
                    "amount_minor": r.amount,
                }
            )
    return [
        {
            "payment_id": p.payment_id,
            "external_reference": p.external_reference,
            "amount_minor": p.amount,
            "value_date": p.value_date.isoformat(),
            "received_at": p.received_at.isoformat(),
            "reversed": p.reversed,
            "allocation": by_payment.get(p.payment_id),
        }
        for p in rows
    ]


async def journal_of(session: AsyncSession, loan_id: str) -> list[dict[str, Any]]:
    rows = (
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
    entries: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = entries.setdefault(
            r.entry_id,
            {
                "entry_id": r.entry_id,
                "business_date": r.business_date.isoformat(),
                "memo": r.memo,
                "currency": r.currency,
                "lines": [],
            },
        )
        entry["lines"].append(
            {"account": r.account, "debit_minor": r.debit, "credit_minor": r.credit}
        )
    return list(entries.values())


# What the borrower owes, by the journal: the receivable accounts net of credit held.
_OWED_ACCOUNTS = {
    Account.LOAN_PRINCIPAL: "principal_minor",
    Account.INTEREST_RECEIVABLE: "interest_minor",
    Account.PENALTY_RECEIVABLE: "penalty_minor",
    Account.FEE_RECEIVABLE: "fee_minor",
    Account.BORROWER_CREDIT: "credit_minor",
}

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


async def statement(
    session: AsyncSession, loan: LoanRecord, start: date, end: date
) -> dict[str, Any]:
    """The period's statement, derived from the journal: what was owed at the start, each
    movement that changed it (disbursement, interest falling due, charges, payments,
    reversals) in business-date order, and what is owed at the end. Credit held is shown as a negative amount.
    Re-allocations that only move money between components of the same debt appear as
    movements with a zero total."""
    rows = (
        await session.execute(
            _STATEMENT,
            {"loan_id": loan.loan_id, "accounts": [a.value for a in _OWED_ACCOUNTS], "end": end},
        )
    ).all()
    opening = dict.fromkeys(_OWED_ACCOUNTS.values(), 0)
    movements: dict[int, dict[str, Any]] = {}
    for r in rows:
        field = _OWED_ACCOUNTS[Account(r.account)]
        if r.business_date < start:
            opening[field] += int(r.amount)
            continue
        item = movements.setdefault(
            r.entry_no,
            {
                "date": r.business_date.isoformat(),
                "memo": r.memo,
                "reference": r.reference,
                **dict.fromkeys(_OWED_ACCOUNTS.values(), 0),
            },
        )
        item[field] += int(r.amount)
    closing = dict(opening)
    for item in movements.values():
        item["total_minor"] = sum(item[f] for f in _OWED_ACCOUNTS.values())
        for f in _OWED_ACCOUNTS.values():
            closing[f] += item[f]
    return {
        "loan_id": loan.loan_id,
        "currency": loan.currency,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "opening": {**opening, "total_minor": sum(opening.values())},
        "movements": list(movements.values()),
        "closing": {**closing, "total_minor": sum(closing.values())},
    }


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

#: mismatching loans listed by :func:`reconciliation` (all are counted)
MISMATCHES_LISTED = 1_000


async def reconciliation(session: AsyncSession, limit: int = MISMATCHES_LISTED) -> dict[str, Any]:
    """Debits equal credits, and every loan's balances derived from the journal equal the
    balances kept in the loan tables. Counted in the database: what comes back is the
    totals and the first ``limit`` mismatching loans (by loan id), never the book."""
    rows = (await session.execute(_RECONCILE, {"limit": limit})).all()
    head = rows[0]
    mismatches = []
    for r in rows:
        if r.loan_id is None:
            continue
        for name in ("principal", "interest", "penalty", "fee", "credit"):
            journal, tables = int(getattr(r, f"j_{name}")), int(getattr(r, f"t_{name}"))
            if journal != tables:
                mismatches.append(
                    {
                        "loan_id": r.loan_id,
                        "balance": name,
                        "journal_minor": journal,
                        "tables_minor": tables,
                    }
                )
        if r.debits != r.credits:
            mismatches.append(
                {
                    "loan_id": r.loan_id,
                    "balance": "trial",
                    "journal_minor": int(r.debits),
                    "tables_minor": int(r.credits),
                }
            )
    debits, credits = int(head.all_debits), int(head.all_credits)
    return {
        "ok": debits == credits and head.mismatched_loans == 0,
        "loans": int(head.loans),
        "debits_minor": debits,
        "credits_minor": credits,
        "mismatched_loans": int(head.mismatched_loans),
        "mismatches": mismatches,
    }
