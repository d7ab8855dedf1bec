"""Close of business for business date D: the set-based daily run.

Only due and overdue loans are touched: ``oldest_unpaid_due_date <= D AND NOT paused``
is answered by a partial index, so the cost grows with the loans that are due or
overdue, not with the portfolio. For them, in chunks:

1. one query reads the loans with their instalment aggregates (past-due amounts by
   component, the oldest unpaid instalment, scheduled interest to date);
2. ``review_loan_day`` applies the domain per loan in Python (DPD, arrears grace, bucket
   and stage transitions, penalty accrual with caps and carry, credit-report gate);
3. the outcomes are written back with set-based statements (``UPDATE ... FROM unnest``,
   ``INSERT ... SELECT FROM unnest``) and the events go to the outbox with one
   ``emit_all`` per chunk, all in the caller's transaction.

Idempotent per date: a ``cob_runs`` row is inserted first, so a repeated close (a
redelivered marker, the ops command run twice) does nothing; ``penalty_days`` is unique
per loan and date and the penalty state remembers the last accrued date, so a loan is
never charged twice for one day even if those guards were bypassed.

Paused loans are skipped: nothing accrues and no DPD-driven event is emitted for the days
they are paused; those days are never charged later (accrual is for D only).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.db import UnitOfWork
from lendkit.logging import get_logger
from lendkit.outbox.bulk import prebuilt, write_prebuilt_events
from overdue.adapters.loan_book import LoanRecord, policies_for
from overdue.adapters.tables import cob_runs
from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.policy import OverduePolicy
from overdue.service_layer.loan_day import LoanDayInput, LoanDayOutcome, review_loan_day

log = get_logger(__name__)

CHUNK_SIZE = 20_000

_DUE_OR_OVERDUE = """
SELECT loan_id FROM loans
WHERE oldest_unpaid_due_date <= $1 AND oldest_unpaid_due_date IS NOT NULL AND NOT paused
ORDER BY loan_id
"""

_READ_CHUNK = """
SELECT l.*, a.*
FROM loans l
CROSS JOIN LATERAL (
    SELECT
        coalesce(sum(i.principal_minor) FILTER (WHERE i.due_date < $2), 0) AS overdue_principal,
        coalesce(sum(i.interest_minor) FILTER (WHERE i.due_date < $2), 0) AS overdue_interest,
        coalesce(sum(i.penalty_minor) FILTER (WHERE i.due_date < $2), 0) AS overdue_penalty,
        coalesce(sum(i.fee_minor) FILTER (WHERE i.due_date < $2), 0) AS overdue_fee,
        min(i.seq) FILTER (
            WHERE i.due_date < $2 AND i.principal_minor + i.interest_minor > 0
        ) AS oldest_unpaid_seq,
        coalesce(sum(i.scheduled_interest_minor) FILTER (WHERE i.due_date <= $2), 0)
            AS interest_charged
    FROM instalments i WHERE i.loan_id = l.loan_id
) a
WHERE l.loan_id = ANY($1::text[])
"""

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
WHERE l.loan_id = u.loan_id
"""

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


@dataclass(frozen=True)
class CloseOfBusinessResult:
    business_date: date
    loans_examined: int
    events_emitted: int


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the same transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def close_business_day(
    uow: UnitOfWork, business_date: date, *, trigger: str, chunk_size: int = CHUNK_SIZE
) -> CloseOfBusinessResult | None:
    """Run close of business for ``business_date`` in ``uow``'s transaction (the caller
    commits). ``None`` when that date was already closed."""
    session = uow.session
    started = await session.scalar(
        insert(cob_runs)
        .values(business_date=business_date, trigger=trigger)
        .on_conflict_do_nothing()
        .returning(cob_runs.c.business_date)
    )
    if started is None:
        log.info("close of business already done", business_date=str(business_date))
        return None
    conn = await driver_connection(session)
    loan_ids = [r["loan_id"] for r in await conn.fetch(_DUE_OR_OVERDUE, business_date)]
    policies: dict[str, OverduePolicy] = {}
    emitted = 0
    for chunk in _chunks(loan_ids, chunk_size):
        rows = await conn.fetch(_READ_CHUNK, chunk, business_date)
        missing = {r["product_code"] for r in rows} - policies.keys()
        if missing:
            policies.update(await policies_for(session, missing))
        outcomes = []
        changed = []
        for row in rows:
            day = _day_input(row)
            outcome = review_loan_day(day, business_date, policies[row["product_code"]])
            outcomes.append(outcome)
            if _state_changed(day.loan, outcome):
                changed.append(outcome)
        await _write_outcomes(conn, business_date, outcomes, changed)
        emitted += await write_prebuilt_events(
            conn, [prebuilt(payload) for o in outcomes for payload in o.events], source=uow.source
        )
    await session.execute(
        update(cob_runs)
        .where(cob_runs.c.business_date == business_date)
        .values(loans_examined=len(loan_ids), events_emitted=emitted, finished_at=func.now())
    )
    log.info(
        "close of business done",
        business_date=str(business_date),
        loans_examined=len(loan_ids),
        events_emitted=emitted,
    )
    return CloseOfBusinessResult(business_date, len(loan_ids), emitted)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _day_input(row: Any) -> LoanDayInput:
    return LoanDayInput(
        loan=LoanRecord.from_row(row),
        overdue=OverdueBreakdown(
            principal_minor=int(row["overdue_principal"]),
            interest_minor=int(row["overdue_interest"]),
            penalty_minor=int(row["overdue_penalty"]),
            fees_minor=int(row["overdue_fee"]),
        ),
        oldest_unpaid_seq=row["oldest_unpaid_seq"],
        interest_charged_minor=int(row["interest_charged"]),
    )


def _state_changed(loan: LoanRecord, o: LoanDayOutcome) -> bool:
    """Whether ``o`` changes any column ``_WRITE_LOANS`` sets (a loan that just fell due
    usually changes nothing: rewriting its row would only cost index and WAL writes)."""
    return (
        o.bucket != loan.bucket
        or o.stage.value != loan.stage
        or o.in_arrears != loan.in_arrears
        or o.charge_off_candidate != loan.charge_off_candidate
        or o.penalty.last_accrued_on != loan.penalty.last_accrued_on
        or o.penalty.cumulative_exact != loan.penalty.cumulative_exact
        or o.penalty.assessed_to_date_minor != loan.penalty.assessed_to_date_minor
        or o.gate != loan.gate
    )


async def _write_loans(conn: Any, outcomes: list[LoanDayOutcome]) -> None:
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


async def _write_outcomes(
    conn: Any, on: date, outcomes: list[LoanDayOutcome], changed: list[LoanDayOutcome]
) -> None:
    """Write the changed loans' state, the penalty days and the transitions."""
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
