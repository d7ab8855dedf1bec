"""The read side: what the REST API shows (loan detail, owed, payments, statement, journal,
reconciliation). Reads only, on the route's read session (``lendkit.runtime.ReadSession``),
through the adapters (``ledger.adapters.read_models``); the write side is in
``service_layer``, which this module never imports.

The one exception to "a session": :func:`loan_detail_document`, the hot (benchmarked)
``GET /loans/{loan_id}``, reads through the runtime's asyncpg pool
(``read_models.loan_detail_document``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.adapters import read_models
from ledger.adapters.business_days import BusinessDays
from ledger.adapters.contract_shapes import contract_component
from ledger.adapters.records import LoanRecord
from ledger.adapters.repository import LoanRepository
from ledger.domain import (
    Account,
    InstalmentDue,
    InstalmentPosition,
    LedgerComponent,
    what_is_owed,
)
from ledger.domain.clock import ClosedDay, LedgerClock
from ledger.domain.resettlement import replay_loan


def _components(amounts: dict[LedgerComponent, int]) -> dict[str, int]:
    return {f"{c.value.lower()}_minor": amounts.get(c, 0) for c in LedgerComponent}


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


async def visible_loan(session: AsyncSession, loan_id: str) -> LoanRecord | None:
    """The loan row (unlocked), for the route to check who may see it."""
    return await LoanRepository(session).get(loan_id)


async def loan_detail_document(pool: asyncpg.Pool, loan_id: str) -> tuple[str, bytes] | None:
    """(borrower id, JSON document) of the loan detail, or None (see the module's doc)."""
    return await read_models.loan_detail_document(pool, loan_id)


async def today_for(session: AsyncSession, clock: LedgerClock, loan: LoanRecord) -> date:
    """Today on the business clock in the loan's timezone."""
    closed = await BusinessDays(session).last_closed()
    return clock.today(closed, ZoneInfo(loan.timezone)).today


@dataclass(frozen=True)
class BusinessClock:
    """Where the ledger's business clock stands (``GET /business-clock``)."""

    business_timezone: str
    today: date
    simulated: bool
    first_closed_day: date | None
    last_closed_day: date | None
    last_closed_at: datetime | None
    close_running: bool
    max_catch_up_days: int


async def business_clock(
    session: AsyncSession, clock: LedgerClock, max_catch_up_days: int
) -> BusinessClock:
    state = await read_models.clock_state(session)
    last = None if state.last_closed is None else ClosedDay(state.last_closed, state.last_closed_at)
    return BusinessClock(
        business_timezone=clock.zone.key,
        today=clock.today(last).today,
        simulated=clock.simulated,
        first_closed_day=state.first_closed,
        last_closed_day=state.last_closed,
        last_closed_at=state.last_closed_at,
        close_running=bool(state.close_running),
        max_catch_up_days=max_catch_up_days,
    )


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
        effective = await read_models.schedule_effective_date(
            session, loan_id, state.loan.schedule_version
        )
        if effective is not None and as_of < effective:
            raise ValueError(f"the current schedule starts on {effective}; ask for a later date")
    await repo.load_history(state)
    outcome = replay_loan(
        [i.contractual() for i in state.instalments],
        state.payments,
        state.charges,
        state.product.allocation_order,
        as_of=as_of,
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
    days = BusinessDays(session)
    closed = await days.last_closed()
    if closed is None or as_of < closed.business_date:
        return None
    day = closed.business_date
    if (clock.now() - closed.closed_at).total_seconds() >= clock.settle_seconds:
        return None
    if await days.penalty_booked_for(loan_id, day):
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
) -> list[LoanRecord]:
    """Up to ``limit`` loans by loan id after ``after`` (the route reads one more than a
    page, for ``lendkit.pagination.paginate``)."""
    return await read_models.loans_after(
        session, borrower_id=borrower_id, status=status, after=after, limit=limit
    )


async def payments_of(session: AsyncSession, loan_id: str) -> list[dict[str, Any]]:
    """Every payment with its current allocation (none once reversed)."""
    rows = await read_models.payment_rows(session, loan_id)
    lines = await read_models.current_payment_allocation_lines(session, loan_id)
    by_payment: dict[str, dict[str, Any]] = {}
    for r in lines:
        alloc = by_payment.setdefault(r.source_id, {"lines": [], "credit_minor": r.credit})
        if r.seq is not None:
            alloc["lines"].append(
                {
                    "seq": r.seq,
                    "component": contract_component(LedgerComponent(r.component)).value,
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
    rows = await read_models.journal_rows(session, loan_id)
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


async def statement(
    session: AsyncSession, loan: LoanRecord, start: date, end: date
) -> dict[str, Any]:
    """The period's statement, derived from the journal: what was owed at the start, each
    movement that changed it (disbursement, interest falling due, charges, payments,
    reversals) in business-date order, and what is owed at the end. Credit held is shown as a negative amount.
    Re-allocations that only move money between components of the same debt appear as
    movements with a zero total."""
    rows = await read_models.statement_rows(
        session, loan.loan_id, [a.value for a in _OWED_ACCOUNTS], end
    )
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


async def reconciliation(session: AsyncSession, limit: int = 1_000) -> dict[str, Any]:
    """Debits equal credits, and every loan's balances derived from the journal equal the
    balances kept in the loan tables. Counted in the database: what comes back is the
    totals and the first ``limit`` mismatching loans by loan id
    (``LEDGER_RECONCILIATION_LOANS_LISTED``), never the book."""
    rows = await read_models.reconciliation_rows(session, limit)
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
