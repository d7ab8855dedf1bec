"""Close of business for a business date D, set-based and idempotent per date.

The business clock never skips a day (``lendkit.business_clock``): closing D when the last
closed day is D - n closes D - n + 1 ... D in order, in this one transaction, each day as
below; a date before the first closed day is refused (409), and so is a catch-up longer
than ``max_catch_up_days`` (422). Runs are serialised by a transaction-scoped advisory lock.

For each day, in the same transaction, with no per-loan Python loop:

1. claim D in ``cob_runs`` (a second run for D finds it claimed and does nothing);
2. recognise contractual interest of every instalment due on or before D not yet
   recognised (journal entry per instalment, built by ``INSERT ... SELECT``);
3. publish ``RepaymentUpcoming`` for instalments due D + n for each of the product's
   ``reminder_days_before`` (T-3 and T-1 by default) that still owe something;
4. publish ``RepaymentDue`` for instalments due on D that still owe something;
5. publish ``BusinessDayClosed`` to every partition of ``ledger.loans``, after the day's events.

Event ids are derived from (loan, version, instalment, date, kind), so even a replayed run
could not publish a reminder twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from ledger.adapters.tables import cob_runs
from ledger.domain import interest_due_entry
from ledger.service_layer.errors import Conflict, Invalid
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.business_clock import (
    DEFAULT_MAX_CATCH_UP_DAYS,
    BeforeBusinessClock,
    CatchUpTooLong,
    ClosedRange,
    days_to_close,
)
from lendkit.contracts.ledger import BusinessDayClosed, RepaymentDue, RepaymentUpcoming
from lendkit.contracts.topics import LOAN_PARTITIONS
from lendkit.events import new_event
from lendkit.outbox.sql import outbox_insert_select, outbox_params


@dataclass(frozen=True)
class CloseOfBusinessResult:
    business_date: date
    already_closed: bool
    upcoming: int = 0
    due: int = 0
    interest_recognised: int = 0
    caught_up: tuple[date, ...] = ()
    """Earlier days this run closed first, oldest first (the clock was behind)."""


_COB_LOCK = 0x6C6564676572  # "ledger": one close of business at a time

_OWED = (
    "(i.outstanding_principal + i.outstanding_interest + i.outstanding_penalty + i.outstanding_fee)"
)
_CURRENT = "JOIN loans l ON l.loan_id = i.loan_id AND l.schedule_version = i.version"
_D = "CAST(:business_date AS date)"

_UPCOMING_ROWS = f"""
    SELECT md5('ledger:upcoming:' || i.loan_id || ':' || i.version || ':' || i.seq || ':'
               || {_D} || ':' || d.days)::uuid AS event_id,
           i.loan_id AS message_key,
           jsonb_build_object(
               'loan_id', i.loan_id, 'borrower_id', l.borrower_id, 'seq', i.seq,
               'due_date', i.due_date, 'days_before', d.days, 'amount_due_minor', {_OWED},
               'currency', l.currency, 'business_date', {_D}) AS payload
    FROM instalments i {_CURRENT}
    JOIN products p ON p.code = l.product_code
    CROSS JOIN LATERAL unnest(p.reminder_days_before) AS d(days)
    WHERE d.days > 0 AND i.due_date = {_D} + d.days AND {_OWED} > 0
    ORDER BY i.due_date, i.loan_id, i.seq
"""

_DUE_ROWS = f"""
    SELECT md5('ledger:due:' || i.loan_id || ':' || i.version || ':' || i.seq || ':'
               || {_D})::uuid AS event_id,
           i.loan_id AS message_key,
           jsonb_build_object(
               'loan_id', i.loan_id, 'borrower_id', l.borrower_id, 'seq', i.seq,
               'due_date', i.due_date, 'amount_due_minor', {_OWED}, 'currency', l.currency,
               'business_date', {_D},
               'balance', jsonb_build_object(
                   'seq', i.seq, 'due_date', i.due_date,
                   'principal_minor', i.outstanding_principal,
                   'interest_minor', i.outstanding_interest,
                   'penalty_minor', i.outstanding_penalty, 'fee_minor', i.outstanding_fee)
           ) AS payload
    FROM instalments i {_CURRENT}
    WHERE i.due_date = {_D} AND {_OWED} > 0
    ORDER BY i.loan_id, i.seq
"""

# The entry's accounts and memo come from the domain's interest_due_entry (see below).
_RECOGNISE_INTEREST = text(
    f"""
    WITH due AS (
        UPDATE instalments i SET interest_recognised = true
        FROM loans l
        WHERE l.loan_id = i.loan_id AND l.schedule_version = i.version
          AND i.due_date <= {_D} AND i.interest > 0 AND NOT i.interest_recognised
        RETURNING i.loan_id, i.version, i.seq, i.interest, l.currency,
                  md5('ledger:interest-due:' || i.loan_id || ':' || i.version || ':' || i.seq)::uuid
                      AS entry_id
    ), entries AS (
        INSERT INTO journal_entries (entry_id, loan_id, currency, memo, business_date, reference)
        SELECT entry_id, loan_id, currency, :memo, {_D}, 'cob:' || {_D} FROM due
        RETURNING entry_id
    ), lines AS (
        INSERT INTO journal_lines (entry_id, line_no, loan_id, account, debit, credit)
        SELECT entry_id, 1, loan_id, :debit_account, interest, 0 FROM due
        UNION ALL
        SELECT entry_id, 2, loan_id, :credit_account, 0, interest FROM due
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM entries) AS recognised, (SELECT count(*) FROM lines) AS lines
    """
)


def _interest_template() -> dict[str, str]:
    entry = interest_due_entry(1, "CNY")
    debit = next(line for line in entry.lines if line.debit)
    credit = next(line for line in entry.lines if line.credit)
    return {"memo": entry.memo, "debit_account": debit.account, "credit_account": credit.account}


async def close_business_day(
    uow: LedgerUnitOfWork,
    business_date: date,
    *,
    max_catch_up_days: int = DEFAULT_MAX_CATCH_UP_DAYS,
) -> CloseOfBusinessResult:
    """Close ``business_date`` and every unclosed day before it since the last closed day,
    oldest first; the caller commits. Raises ``Conflict`` for a day before the clock's first
    closed day and ``Invalid`` when more than ``max_catch_up_days`` would be closed."""
    session = uow.session
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _COB_LOCK})
    first, last = (
        await session.execute(
            select(func.min(cob_runs.c.business_date), func.max(cob_runs.c.business_date))
        )
    ).one()
    closed = ClosedRange(first, last) if first is not None else None
    try:
        days = days_to_close(closed, business_date, max_catch_up_days=max_catch_up_days)
    except BeforeBusinessClock as exc:
        raise Conflict(str(exc)) from exc
    except CatchUpTooLong as exc:
        raise Invalid(str(exc)) from exc
    for day in days[:-1]:
        await _close_one_day(uow, day)
    result = await _close_one_day(uow, business_date)
    return replace(result, caught_up=tuple(days[:-1]))


async def _close_one_day(uow: LedgerUnitOfWork, business_date: date) -> CloseOfBusinessResult:
    session = uow.session
    claimed = await session.scalar(
        insert(cob_runs)
        .values(business_date=business_date)
        .on_conflict_do_nothing()
        .returning(cob_runs.c.business_date)
    )
    if claimed is None:
        return CloseOfBusinessResult(business_date, already_closed=True)
    params = {"business_date": business_date}
    recognised = (
        await session.execute(_RECOGNISE_INTEREST, {**params, **_interest_template()})
    ).one()
    outbox = {**params, **outbox_params(uow.source)}
    upcoming = await session.execute(
        text(outbox_insert_select(RepaymentUpcoming, _UPCOMING_ROWS)), outbox
    )
    due = await session.execute(text(outbox_insert_select(RepaymentDue, _DUE_ROWS)), outbox)
    result = CloseOfBusinessResult(
        business_date,
        already_closed=False,
        upcoming=upcoming.rowcount,  # type: ignore[attr-defined]
        due=due.rowcount,  # type: ignore[attr-defined]
        interest_recognised=int(recognised.recognised),
    )
    await session.execute(
        cob_runs.update()
        .where(cob_runs.c.business_date == business_date)
        .values(
            upcoming=result.upcoming, due=result.due, interest_recognised=result.interest_recognised
        )
    )
    await uow.emit_all(
        [
            new_event(
                BusinessDayClosed(
                    business_date=business_date, partition=p, partitions=LOAN_PARTITIONS
                ),
                source=uow.source,
                partition=p,
            )
            for p in range(LOAN_PARTITIONS)
        ]
    )
    return result
