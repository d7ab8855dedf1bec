"""The set-based SQL of a close of business (``uow.close_of_business``), on the unit of
work's session: no per-loan Python loop, a handful of statements per day whatever the
number of loans.

The payloads of ``RepaymentUpcoming`` and ``RepaymentDue`` are built by PostgreSQL
(``jsonb_build_object``); ``tests/unit/test_sql_payloads.py`` checks their keys field by
field against the contract models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.adapters.tables import cob_runs
from ledger.domain.journal import JournalEntry
from lendkit.business_clock import ClosedRange
from lendkit.contracts.ledger import RepaymentDue, RepaymentUpcoming
from lendkit.outbox.writer import outbox_insert_select, outbox_params

COB_LOCK = 0x6C6564676572  # "ledger": one close of business at a time

_OWED = (
    "(i.outstanding_principal + i.outstanding_interest + i.outstanding_penalty + i.outstanding_fee)"
)
_CURRENT = "JOIN loans l ON l.loan_id = i.loan_id AND l.schedule_version = i.version"
_D = "CAST(:business_date AS date)"

UPCOMING_ROWS = f"""
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

DUE_ROWS = f"""
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

# The entry's accounts and memo come from the domain's interest_due_entry (the template
# passed to ``recognise_interest``).
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


@dataclass(frozen=True)
class DayCounts:
    upcoming: int
    due: int
    interest_recognised: int


class CloseOfBusinessJob:
    """A close of business's statements, in the unit of work's transaction."""

    def __init__(self, session: AsyncSession, source: str) -> None:
        self.session = session
        self.source = source

    async def lock(self) -> None:
        """One close of business at a time (a transaction-scoped advisory lock)."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": COB_LOCK})

    async def closed_range(self) -> ClosedRange | None:
        """The first and last closed business days (None before the first close)."""
        first, last = (
            await self.session.execute(
                select(func.min(cob_runs.c.business_date), func.max(cob_runs.c.business_date))
            )
        ).one()
        return ClosedRange(first, last) if first is not None else None

    async def claim(self, business_date: date) -> bool:
        """Claim the day in ``cob_runs``; False when it was closed before."""
        claimed = await self.session.scalar(
            insert(cob_runs)
            .values(business_date=business_date)
            .on_conflict_do_nothing()
            .returning(cob_runs.c.business_date)
        )
        return claimed is not None

    async def recognise_interest(self, business_date: date, template: JournalEntry) -> int:
        """Journal the contractual interest of every instalment due on or before the day not
        yet recognised, one entry per instalment shaped like ``template``; how many."""
        debit = next(line for line in template.lines if line.debit)
        credit = next(line for line in template.lines if line.credit)
        recognised = (
            await self.session.execute(
                _RECOGNISE_INTEREST,
                {
                    "business_date": business_date,
                    "memo": template.memo,
                    "debit_account": debit.account,
                    "credit_account": credit.account,
                },
            )
        ).one()
        return int(recognised.recognised)

    async def publish_reminders(self, business_date: date) -> tuple[int, int]:
        """``RepaymentUpcoming`` and ``RepaymentDue`` of the day into the outbox: how many
        of each."""
        params = {"business_date": business_date, **outbox_params(self.source)}
        upcoming = await self.session.execute(
            text(outbox_insert_select(RepaymentUpcoming, UPCOMING_ROWS)), params
        )
        due = await self.session.execute(text(outbox_insert_select(RepaymentDue, DUE_ROWS)), params)
        return upcoming.rowcount, due.rowcount  # type: ignore[attr-defined]

    async def record(self, business_date: date, counts: DayCounts) -> None:
        """The day's counts on its ``cob_runs`` row."""
        await self.session.execute(
            cob_runs.update()
            .where(cob_runs.c.business_date == business_date)
            .values(
                upcoming=counts.upcoming,
                due=counts.due,
                interest_recognised=counts.interest_recognised,
            )
        )
