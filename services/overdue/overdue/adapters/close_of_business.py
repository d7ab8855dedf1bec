"""Close of business's set-based SQL, on the unit of work's asyncpg connection.

One :class:`CloseOfBusinessBatch` per unit of work (``uow.close_of_business``): every
statement runs on the asyncpg connection under the unit of work's session, inside its
transaction, and takes a whole chunk at once (``unnest`` arrays), whatever the chunk
size. The process itself (what is read, reviewed and written, in which transaction)
reads in ``service_layer.close_of_business``.

Loading a chunk is two statements. The lock comes first and alone: under READ COMMITTED a
statement that waited for a row lock sees the locked row as committed by the other
transaction, but every other table as it was when the statement started. Locking and
aggregating the instalments in one statement would pair a consumer's fresh loan row (a
payment just applied) with the instalments from before that payment: a penalty on an
instalment just paid, an inflated base, DPD from mixed data. The read is a new statement,
so it sees everything committed before the lock was granted, and nothing can change these
loans until the chunk commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.db import driver_connection
from lendkit.events.catalogue import EventPayload
from lendkit.outbox.writer import prebuilt, write_prebuilt_events
from overdue.adapters.records import (
    BlockedLoan,
    LoanDay,
    LoanDayInput,
    LoanDayOutcome,
    RunClaim,
    RunTotals,
    TrackedLoan,
)
from overdue.domain.arrears import OverdueBreakdown

_BEGIN = """
INSERT INTO cob_runs (business_date, trigger) VALUES ($1, $2)
ON CONFLICT (business_date) DO NOTHING
"""

_FINISHED = "SELECT finished_at IS NOT NULL FROM cob_runs WHERE business_date = $1"

_CLAIM = """
SELECT resume_after, finished_at IS NOT NULL AS finished FROM cob_runs
WHERE business_date = $1
FOR UPDATE
"""

_PROGRESS = """
UPDATE cob_runs SET
    resume_after = $2,
    loans_examined = loans_examined + $3,
    events_emitted = events_emitted + $4,
    finished_at = CASE WHEN $5::bool THEN now() END
WHERE business_date = $1
RETURNING loans_examined, events_emitted
"""

_CLOSED_RANGE = "SELECT min(business_date), max(business_date) FROM cob_runs"
_UNFINISHED_BEFORE = """
SELECT business_date FROM cob_runs WHERE finished_at IS NULL AND business_date < $1
ORDER BY business_date
"""

_DUE_OR_OVERDUE = """
SELECT loan_id FROM loans
WHERE oldest_unpaid_due_date <= $1 AND oldest_unpaid_due_date IS NOT NULL AND NOT paused
ORDER BY loan_id COLLATE "C"
"""
# (``COLLATE "C"``: code point order, the order Python compares the resume cursor in.)

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

_RECORD_BLOCKED = """
INSERT INTO blocked_loan_days (business_date, loan_id, product_code, reason)
SELECT $1, u.loan_id, u.product_code, u.reason
FROM unnest($2::text[], $3::text[], $4::text[]) AS u(loan_id, product_code, reason)
ON CONFLICT (business_date, loan_id) DO NOTHING
"""

_COUNT_BLOCKED = "SELECT count(*) FROM blocked_loan_days WHERE business_date = $1"

_WRITE_LOANS = """
UPDATE loans AS l SET
    bucket = u.bucket, stage = u.stage, in_arrears = u.in_arrears,
    charge_off_candidate = u.charge_off_candidate, last_accrued_on = u.last_accrued_on,
    cumulative_exact = u.cumulative_exact, assessed_to_date_minor = u.assessed,
    gate_status = u.gate_status, notice_due_on = u.notice_due_on,
    notice_delivered_on = u.notice_delivered_on, reportable_on = u.reportable_on
FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::bool[], $5::bool[], $6::date[], $7::numeric[],
    $8::bigint[], $9::text[], $10::date[], $11::date[], $12::date[]
) AS u(loan_id, bucket, stage, in_arrears, charge_off_candidate, last_accrued_on,
       cumulative_exact, assessed, gate_status, notice_due_on, notice_delivered_on, reportable_on)
WHERE l.loan_id = u.loan_id AND l.loan_id = ANY($1::text[])
"""
# (``l.loan_id = ANY``: the loans are then found through their primary key; joined to the
# unnest alone, the planner hashes the whole loans table for every chunk.)

_WRITE_PENALTY_DAYS = """
INSERT INTO penalty_days
    (loan_id, business_date, seq, dpd, base_minor, rate, exact, booked_minor, forgone_minor,
     cap_applied)
SELECT u.loan_id, $2, u.seq, u.dpd, u.base, u.rate, u.exact, u.booked, u.forgone, u.cap
FROM unnest($1::text[], $3::int[], $4::int[], $5::bigint[], $6::numeric[], $7::numeric[],
            $8::bigint[], $9::bigint[], $10::text[])
    AS u(loan_id, seq, dpd, base, rate, exact, booked, forgone, cap)
ON CONFLICT (loan_id, business_date) DO NOTHING
"""

_WRITE_HISTORY = """
INSERT INTO {table} (loan_id, business_date, from_{what}, to_{what}, dpd)
SELECT u.loan_id, $2, u.from_value, u.to_value, u.dpd
FROM unnest($1::text[], $3::text[], $4::text[], $5::int[]) AS u(loan_id, from_value, to_value, dpd)
"""

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


def _day_input(row: Any) -> LoanDayInput:
    return LoanDayInput(
        loan=TrackedLoan.from_row(row),
        overdue=OverdueBreakdown(
            principal_minor=int(row["overdue_principal"]),
            interest_minor=int(row["overdue_interest"]),
            penalty_minor=int(row["overdue_penalty"]),
            fees_minor=int(row["overdue_fee"]),
        ),
        oldest_unpaid_seq=row["oldest_unpaid_seq"],
        interest_charged_minor=int(row["interest_charged"]),
    )


class CloseOfBusinessBatch:
    """The statements of close of business, on ``session``'s asyncpg connection (taken on
    first use, so a unit of work that never closes a day never asks for it)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._conn: Any = None

    async def _connection(self) -> Any:
        if self._conn is None:
            self._conn = await driver_connection(self._session)
        return self._conn

    # The run: its row in cob_runs, its cursor ----------------------------------------

    async def begin(self, business_date: date, trigger: str) -> bool:
        """Record the run for ``business_date`` (or find the one a crashed runner left);
        False when that date is already finished."""
        conn = await self._connection()
        await conn.execute(_BEGIN, business_date, trigger)
        finished = await conn.fetchval(_FINISHED, business_date)
        return not finished

    async def claim(self, business_date: date) -> RunClaim | None:
        """Lock the run's row (``FOR UPDATE``: concurrent runners take turns)."""
        conn = await self._connection()
        row = await conn.fetchrow(_CLAIM, business_date)
        return None if row is None else RunClaim(row["resume_after"], row["finished"])

    async def progress(
        self,
        business_date: date,
        *,
        resume_after: str | None,
        examined: int,
        emitted: int,
        finished: bool,
    ) -> RunTotals:
        """Move the run's cursor and add to its totals (``finished``: the last chunk)."""
        conn = await self._connection()
        row = await conn.fetchrow(
            _PROGRESS, business_date, resume_after, examined, emitted, finished
        )
        return RunTotals(row["loans_examined"], row["events_emitted"])

    async def closed_range(self) -> tuple[date, date] | None:
        """The first and last dates a run was recorded for (None: never run)."""
        conn = await self._connection()
        first, last = await conn.fetchrow(_CLOSED_RANGE)
        return None if first is None else (first, last)

    async def unfinished_before(self, day: date) -> list[date]:
        conn = await self._connection()
        return [r[0] for r in await conn.fetch(_UNFINISHED_BEFORE, day)]

    # The loans ------------------------------------------------------------------------

    async def due_or_overdue_loan_ids(self, business_date: date) -> list[str]:
        """Loans due or overdue on ``business_date`` and not paused, in ``loan_id`` (code
        point) order."""
        conn = await self._connection()
        return [r["loan_id"] for r in await conn.fetch(_DUE_OR_OVERDUE, business_date)]

    async def lock_and_read_due_loans(
        self, loan_ids: Sequence[str], business_date: date
    ) -> list[LoanDayInput]:
        """Lock those of ``loan_ids`` that are due or overdue on ``business_date`` and not
        paused (``FOR UPDATE``: a consumer applying a payment or a delivered notice to one of
        them waits until the caller commits), then read them with their instalment aggregates
        (past-due amounts by component, the oldest unpaid instalment, scheduled interest to
        date)."""
        conn = await self._connection()
        locked = [r["loan_id"] for r in await conn.fetch(_LOCK, list(loan_ids), business_date)]
        if not locked:
            return []
        return [_day_input(row) for row in await conn.fetch(_READ, locked, business_date)]

    async def record_blocked_loans(self, on: date, blocked: Sequence[BlockedLoan]) -> None:
        """Record ``blocked`` for ``on`` in one statement."""
        if not blocked:
            return
        conn = await self._connection()
        await conn.execute(
            _RECORD_BLOCKED,
            on,
            [b.loan_id for b in blocked],
            [b.product_code for b in blocked],
            [b.reason for b in blocked],
        )

    async def count_blocked_loans(self, on: date) -> int:
        conn = await self._connection()
        count: int = await conn.fetchval(_COUNT_BLOCKED, on)
        return count

    async def write_outcomes(
        self, on: date, outcomes: Sequence[LoanDayOutcome], changed: Sequence[LoanDayOutcome]
    ) -> None:
        """Write the changed loans' state, the penalty days and the transitions."""
        conn = await self._connection()
        if changed:
            await _write_loans(conn, changed)
        accrued = [o for o in outcomes if o.penalty_day is not None]
        if accrued:
            days = [(o, o.penalty_day) for o in accrued if o.penalty_day is not None]
            await conn.execute(
                _WRITE_PENALTY_DAYS,
                [o.loan_id for o, _ in days],
                on,
                [o.penalty_seq or 0 for o, _ in days],
                [d.dpd for _, d in days],
                [d.base_minor for _, d in days],
                [d.rate for _, d in days],
                [d.exact for _, d in days],
                [d.booked_minor for _, d in days],
                [d.forgone_minor for _, d in days],
                [None if d.cap_applied is None else d.cap_applied.value for _, d in days],
            )
        await _write_history(conn, "bucket", on, [(o, o.bucket_change) for o in outcomes])
        await _write_history(conn, "stage", on, [(o, o.stage_change) for o in outcomes])

    async def write_loan_days(self, on: date, days: Sequence[LoanDay]) -> None:
        """One statement for a chunk's loans past due on ``on``."""
        if not days:
            return
        conn = await self._connection()
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

    async def write_events(self, payloads: Sequence[EventPayload], *, source: str) -> int:
        """The chunk's events into the outbox in one statement; returns how many."""
        conn = await self._connection()
        return await write_prebuilt_events(
            conn, [prebuilt(payload) for payload in payloads], source=source
        )


async def _write_loans(conn: Any, outcomes: Sequence[LoanDayOutcome]) -> None:
    await conn.execute(
        _WRITE_LOANS,
        [o.loan_id for o in outcomes],
        [o.bucket for o in outcomes],
        [o.stage.value for o in outcomes],
        [o.in_arrears for o in outcomes],
        [o.charge_off_candidate for o in outcomes],
        [o.penalty.last_accrued_on for o in outcomes],
        [o.penalty.cumulative_exact for o in outcomes],
        [o.penalty.assessed_to_date_minor for o in outcomes],
        [o.gate.status.value for o in outcomes],
        [o.gate.notice_due_on for o in outcomes],
        [o.gate.notice_delivered_on for o in outcomes],
        [o.gate.reportable_on for o in outcomes],
    )


async def _write_history(
    conn: Any,
    what: str,
    on: date,
    changes: list[tuple[LoanDayOutcome, tuple[str, str] | None]],
) -> None:
    moved = [(o, change) for o, change in changes if change is not None]
    if not moved:
        return
    await conn.execute(
        _WRITE_HISTORY.format(table=f"{what}_history", what=what),
        [o.loan_id for o, _ in moved],
        on,
        [change[0] for _, change in moved],
        [change[1] for _, change in moved],
        [o.dpd for o, _ in moved],
    )
