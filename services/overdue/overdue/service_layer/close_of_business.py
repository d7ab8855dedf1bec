"""Close of business for business date D: the set-based daily run.

Only due and overdue loans are touched: ``oldest_unpaid_due_date <= D AND NOT paused``
is answered by a partial index, so the cost grows with the loans that are due or
overdue, not with the portfolio. For them, in chunks:

1. one statement locks the chunk's loans, a second reads them with their instalment
   aggregates (past-due amounts by component, the oldest unpaid instalment, scheduled
   interest to date; ``adapters.due_loans``: read after the lock, never in the locking
   statement, so a payment the lock waited for is seen whole);
2. ``review_loan_day`` applies the domain per loan in Python (DPD, arrears grace, bucket
   and stage transitions, penalty accrual with caps and carry, credit-report gate);
3. the outcomes are written back with set-based statements (``UPDATE ... FROM unnest``,
   ``INSERT ... SELECT FROM unnest``), including the day's record of every loan past due
   (``loan_days``: one ``INSERT ... SELECT FROM unnest`` per chunk, what a past day's
   explanation is answered from), and the events go to the outbox with one
   ``emit_all`` per chunk, all in one transaction.

Committed per chunk (the ledger-marker path and the ops command alike,
``close_business_days_in_chunks``): each chunk's
loan writes, penalty days, history, outbox events and the run's cursor
(``cob_runs.resume_after``, the last reviewed ``loan_id``; loans are taken in ``loan_id``
order) commit together, so the relay publishes, and the ledger books, the first chunks'
events while later chunks are computed. The run's row is locked (``FOR UPDATE``) by every
chunk, so concurrent runners take turns. A crash resumes after the cursor: every loan is
reviewed once for the date. ``finished_at`` is set by the last chunk; a repeated close of
a finished date (a redelivered marker, the ops command run twice) does nothing.
``penalty_days`` is unique per loan and date and the penalty state
remembers the last accrued date, so a loan is never charged twice for one day even if
those guards were bypassed.

Paused loans are skipped: nothing accrues and no DPD-driven event is emitted for the days
they are paused; those days are never charged later (accrual is for D only).

A loan whose product has no valid overdue policy (not yet published, or refused) is never
given a default one: it is *blocked* for the day, recorded in ``blocked_loan_days`` with the
reason and counted in the result (``loans_blocked``), the log and the
``close_of_business_loans_blocked`` gauge; nothing accrues and no DPD-driven event is
emitted for it. Once the policy arrives, the next close of business reviews the loan like
any other: its DPD counts from the real due date, so bucket, stage and arrears move
straight to that day's values (one transition event each), and penalty accrues from that
day on. The blocked days are never charged later, as paused days are not.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.business_clock import ClosedRange, days_to_close
from lendkit.db import UnitOfWork
from lendkit.logging import get_logger
from lendkit.outbox.bulk import prebuilt, write_prebuilt_events
from overdue.adapters.blocked_loans import BlockedLoan, count_blocked_loans, record_blocked_loans
from overdue.adapters.day_history import LoanDay, write_loan_days
from overdue.adapters.due_loans import lock_and_read_due_loans
from overdue.adapters.loan_book import LoanRecord, policies_for
from overdue.domain.arrears import OverdueBreakdown
from overdue.domain.policy import OverduePolicy
from overdue.service_layer.loan_day import (
    DayRules,
    LoanDayInput,
    LoanDayOutcome,
    review_loan_day,
)

log = get_logger(__name__)

COB_LOANS_BLOCKED = Gauge(
    "close_of_business_loans_blocked",
    "Loans the last finished close of business could not review (no valid product policy)",
)

CHUNK_SIZE = 5_000

_DUE_OR_OVERDUE = """
SELECT loan_id FROM loans
WHERE oldest_unpaid_due_date <= $1 AND oldest_unpaid_due_date IS NOT NULL AND NOT paused
ORDER BY loan_id COLLATE "C"
"""
# (``COLLATE "C"``: code point order, the order Python compares the resume cursor in.)

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


@dataclass(frozen=True)
class CloseOfBusinessResult:
    business_date: date
    loans_examined: int
    events_emitted: int
    #: of the loans examined, those not reviewed: their product has no valid overdue policy
    loans_blocked: int = 0


_BEGIN = """
INSERT INTO cob_runs (business_date, trigger) VALUES ($1, $2)
ON CONFLICT (business_date) DO NOTHING
"""

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


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under the session, inside the same transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


class _Run:
    """One runner's pass over a date: the due and overdue loans in ``loan_id`` order
    (listed once), consumed chunk by chunk behind the committed cursor."""

    def __init__(self, business_date: date, loan_ids: list[str], chunk_size: int) -> None:
        self.business_date = business_date
        self.loan_ids = loan_ids
        self.chunk_size = chunk_size
        self.policies: dict[str, OverduePolicy] = {}
        #: products without a valid policy for this run, with why (their loans are blocked)
        self.without_policy: dict[str, str] = {}
        self.rules: dict[str, DayRules] = {}

    def remaining(self, resume_after: str | None) -> list[str]:
        if resume_after is None:
            return self.loan_ids
        return self.loan_ids[bisect.bisect_right(self.loan_ids, resume_after) :]


async def _begin(uow: UnitOfWork, business_date: date, trigger: str) -> bool:
    """Record the run for ``business_date`` (or find the one a crashed runner left);
    False when that date is already finished."""
    conn = await driver_connection(uow.session)
    await conn.execute(_BEGIN, business_date, trigger)
    finished = await conn.fetchval(
        "SELECT finished_at IS NOT NULL FROM cob_runs WHERE business_date = $1", business_date
    )
    return not finished


async def _list_loans(uow: UnitOfWork, business_date: date, chunk_size: int) -> _Run:
    conn = await driver_connection(uow.session)
    rows = await conn.fetch(_DUE_OR_OVERDUE, business_date)
    return _Run(business_date, [r["loan_id"] for r in rows], chunk_size)


async def _close_next_chunk(uow: UnitOfWork, run: _Run) -> CloseOfBusinessResult | None:
    """Claim the run's row (``FOR UPDATE``: concurrent runners take turns), review the next
    chunk after the committed cursor and move the cursor, all in ``uow``'s transaction.
    Returns the totals once the date is finished (by this chunk), else ``None``. Raises
    :class:`AlreadyClosed` when another runner finished the date meanwhile."""
    conn = await driver_connection(uow.session)
    claim = await conn.fetchrow(_CLAIM, run.business_date)
    if claim is None or claim["finished"]:
        raise AlreadyClosed(run.business_date)
    remaining = run.remaining(claim["resume_after"])
    chunk = remaining[: run.chunk_size]
    emitted = await _review_chunk(uow, conn, run, chunk) if chunk else 0
    finished = len(remaining) <= run.chunk_size
    totals = await conn.fetchrow(
        _PROGRESS,
        run.business_date,
        chunk[-1] if chunk else claim["resume_after"],
        len(chunk),
        emitted,
        finished,
    )
    if not finished:
        return None
    return CloseOfBusinessResult(
        run.business_date,
        totals["loans_examined"],
        totals["events_emitted"],
        await count_blocked_loans(conn, run.business_date),
    )


class AlreadyClosed(Exception):
    """Another runner finished the date while this one was working on it."""


async def _review_chunk(uow: UnitOfWork, conn: Any, run: _Run, chunk: list[str]) -> int:
    on = run.business_date
    rows = await lock_and_read_due_loans(conn, chunk, on)
    policies = run.policies
    missing = {r["product_code"] for r in rows} - policies.keys() - run.without_policy.keys()
    if missing:
        lookup = await policies_for(uow.session, missing)
        policies.update(lookup.found)
        run.without_policy.update(lookup.missing)
    outcomes = []
    changed = []
    blocked = []
    rules = run.rules
    for code in policies.keys() - rules.keys():
        rules[code] = DayRules(on, policies[code])
    past_due = []
    for row in rows:
        code = row["product_code"]
        if code not in policies:  # never a default policy: the loan waits for its product's
            blocked.append(BlockedLoan(row["loan_id"], code, run.without_policy[code]))
            continue
        day = _day_input(row)
        outcome = review_loan_day(day, on, policies[code], rules[code])
        outcomes.append(outcome)
        if _state_changed(day.loan, outcome):
            changed.append(outcome)
        if outcome.dpd > 0:
            past_due.append(_loan_day(day, outcome))
    await record_blocked_loans(conn, on, blocked)
    await _write_outcomes(conn, on, outcomes, changed)
    await write_loan_days(conn, on, past_due)
    return await write_prebuilt_events(
        conn, [prebuilt(payload) for o in outcomes for payload in o.events], source=uow.source
    )


def _done(result: CloseOfBusinessResult) -> CloseOfBusinessResult:
    log.info(
        "close of business done",
        business_date=str(result.business_date),
        loans_examined=result.loans_examined,
        events_emitted=result.events_emitted,
        loans_blocked=result.loans_blocked,
    )
    COB_LOANS_BLOCKED.set(result.loans_blocked)
    if result.loans_blocked:
        log.warning(
            "close of business blocked loans without a valid product policy",
            business_date=str(result.business_date),
            loans_blocked=result.loans_blocked,
        )
    return result


_CLOSED_RANGE = "SELECT min(business_date), max(business_date) FROM cob_runs"
_UNFINISHED_BEFORE = """
SELECT business_date FROM cob_runs WHERE finished_at IS NULL AND business_date < $1
ORDER BY business_date
"""


async def days_to_close_now(uow: UnitOfWork, business_date: date) -> list[date]:
    """The days a close of ``business_date`` must run, oldest first, ending with it: any
    earlier run left unfinished (a crash), then every day the clock skipped
    (``lendkit.business_clock``). Raises ``BeforeBusinessClock`` for a date before the
    first closed day and ``CatchUpTooLong`` for too long a gap."""
    conn = await driver_connection(uow.session)
    first, last = await conn.fetchrow(_CLOSED_RANGE)
    closed = ClosedRange(first, last) if first is not None else None
    days = days_to_close(closed, business_date)
    unfinished = [r[0] for r in await conn.fetch(_UNFINISHED_BEFORE, days[0])]
    return [*unfinished, *days]


async def close_business_days_in_chunks(
    new_uow: Callable[[], UnitOfWork],
    business_date: date,
    *,
    trigger: str,
    chunk_size: int = CHUNK_SIZE,
) -> list[tuple[date, CloseOfBusinessResult | None]]:
    """Close ``business_date`` (ledger markers, ops command): any day the clock skipped or left
    unfinished first, oldest first (see ``days_to_close_now``), each day committed chunk by
    chunk (``close_business_day_in_chunks``). One ``(day, result)`` per day run."""
    async with new_uow() as uow:
        days = await days_to_close_now(uow, business_date)
    done = []
    for day in days:
        catching_up = day != business_date
        result = await close_business_day_in_chunks(
            new_uow,
            day,
            trigger=f"{trigger} (catch-up)" if catching_up else trigger,
            chunk_size=chunk_size,
        )
        done.append((day, result))
    return done


async def close_business_day_in_chunks(
    new_uow: Callable[[], UnitOfWork],
    business_date: date,
    *,
    trigger: str,
    chunk_size: int = CHUNK_SIZE,
) -> CloseOfBusinessResult | None:
    """Close of business of one day committing every chunk in its own transaction (the ops
    command): the relay publishes, and the ledger books, the first chunks' events while
    later chunks are computed. Each chunk's writes, events and the run's cursor commit
    together, so a crash resumes with the loans after the cursor (each loan reviewed once
    for the date) and a repeat of a finished date does nothing (``None``)."""
    async with new_uow() as uow:
        started = await _begin(uow, business_date, trigger)
        await uow.commit()
    if not started:
        log.info("close of business already done", business_date=str(business_date))
        return None
    async with new_uow() as uow:
        run = await _list_loans(uow, business_date, chunk_size)
    while True:
        async with new_uow() as uow:
            try:
                result = await _close_next_chunk(uow, run)
            except AlreadyClosed:
                return None
            await uow.commit()
        if result is not None:
            return _done(result)


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


def _loan_day(day: LoanDayInput, o: LoanDayOutcome) -> LoanDay:
    assert day.loan.oldest_unpaid_due_date is not None  # reviewed: something is due
    return LoanDay(
        o.loan_id, day.loan.oldest_unpaid_due_date, o.dpd, o.bucket, o.stage.value, day.overdue
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
