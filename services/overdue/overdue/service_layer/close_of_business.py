"""Close of business for business date D: the set-based daily run.

Only due and overdue loans are touched: ``oldest_unpaid_due_date <= D AND NOT paused``
is answered by a partial index, so the cost grows with the loans that are due or
overdue, not with the portfolio. For them, in chunks:

1. one statement locks the chunk's loans, a second reads them with their instalment
   aggregates (past-due amounts by component, the oldest unpaid instalment, scheduled
   interest to date; ``adapters.close_of_business``: read after the lock, never in the locking
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

from prometheus_client import Gauge

from lendkit.business_clock import ClosedRange, days_to_close
from lendkit.logging import get_logger
from overdue.adapters.records import (
    BlockedLoan,
    LoanDay,
    LoanDayInput,
    LoanDayOutcome,
    TrackedLoan,
)
from overdue.domain.policy import OverduePolicy
from overdue.service_layer.loan_day import DayRules, review_loan_day
from overdue.service_layer.unit_of_work import OverdueUnitOfWork

log = get_logger(__name__)

COB_LOANS_BLOCKED = Gauge(
    "close_of_business_loans_blocked",
    "Loans the last finished close of business could not review (no valid product policy)",
)


@dataclass(frozen=True)
class CloseOfBusinessResult:
    business_date: date
    loans_examined: int
    events_emitted: int
    #: of the loans examined, those not reviewed: their product has no valid overdue policy
    loans_blocked: int = 0


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


async def _begin(uow: OverdueUnitOfWork, business_date: date, trigger: str) -> bool:
    """Record the run for ``business_date`` (or find the one a crashed runner left);
    False when that date is already finished."""
    return await uow.close_of_business.begin(business_date, trigger)


async def _list_loans(uow: OverdueUnitOfWork, business_date: date, chunk_size: int) -> _Run:
    loan_ids = await uow.close_of_business.due_or_overdue_loan_ids(business_date)
    return _Run(business_date, loan_ids, chunk_size)


async def _close_next_chunk(uow: OverdueUnitOfWork, run: _Run) -> CloseOfBusinessResult | None:
    """Claim the run's row (``FOR UPDATE``: concurrent runners take turns), review the next
    chunk after the committed cursor and move the cursor, all in ``uow``'s transaction.
    Returns the totals once the date is finished (by this chunk), else ``None``. Raises
    :class:`AlreadyClosed` when another runner finished the date meanwhile."""
    batch = uow.close_of_business
    claim = await batch.claim(run.business_date)
    if claim is None or claim.finished:
        raise AlreadyClosed(run.business_date)
    remaining = run.remaining(claim.resume_after)
    chunk = remaining[: run.chunk_size]
    emitted = await _review_chunk(uow, run, chunk) if chunk else 0
    finished = len(remaining) <= run.chunk_size
    totals = await batch.progress(
        run.business_date,
        resume_after=chunk[-1] if chunk else claim.resume_after,
        examined=len(chunk),
        emitted=emitted,
        finished=finished,
    )
    if not finished:
        return None
    return CloseOfBusinessResult(
        run.business_date,
        totals.loans_examined,
        totals.events_emitted,
        await batch.count_blocked_loans(run.business_date),
    )


class AlreadyClosed(Exception):
    """Another runner finished the date while this one was working on it."""


async def _review_chunk(uow: OverdueUnitOfWork, run: _Run, chunk: list[str]) -> int:
    on = run.business_date
    batch = uow.close_of_business
    days = await batch.lock_and_read_due_loans(chunk, on)
    policies = run.policies
    missing = {d.loan.product_code for d in days} - policies.keys() - run.without_policy.keys()
    if missing:
        lookup = await uow.products.policies_for(missing)
        policies.update(lookup.found)
        run.without_policy.update(lookup.missing)
    outcomes = []
    changed = []
    blocked = []
    rules = run.rules
    for code in policies.keys() - rules.keys():
        rules[code] = DayRules(on, policies[code])
    past_due = []
    for day in days:
        code = day.loan.product_code
        if code not in policies:  # never a default policy: the loan waits for its product's
            blocked.append(BlockedLoan(day.loan.loan_id, code, run.without_policy[code]))
            continue
        outcome = review_loan_day(day, on, policies[code], rules[code])
        outcomes.append(outcome)
        if _state_changed(day.loan, outcome):
            changed.append(outcome)
        if outcome.dpd > 0:
            past_due.append(_loan_day(day, outcome))
    await batch.record_blocked_loans(on, blocked)
    await batch.write_outcomes(on, outcomes, changed)
    await batch.write_loan_days(on, past_due)
    return await batch.write_events(
        [payload for o in outcomes for payload in o.events], source=uow.source
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


async def days_to_close_now(uow: OverdueUnitOfWork, business_date: date) -> list[date]:
    """The days a close of ``business_date`` must run, oldest first, ending with it: any
    earlier run left unfinished (a crash), then every day the clock skipped
    (``lendkit.business_clock``, at most ``Settings.max_catch_up_days``). Raises
    ``BeforeBusinessClock`` for a date before the first closed day and ``CatchUpTooLong``
    for too long a gap."""
    batch = uow.close_of_business
    run_range = await batch.closed_range()
    closed = ClosedRange(*run_range) if run_range is not None else None
    days = days_to_close(closed, business_date, max_catch_up_days=uow.settings.max_catch_up_days)
    unfinished = await batch.unfinished_before(days[0])
    return [*unfinished, *days]


async def close_business_days_in_chunks(
    new_uow: Callable[[], OverdueUnitOfWork],
    business_date: date,
    *,
    trigger: str,
    chunk_size: int | None = None,
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
    new_uow: Callable[[], OverdueUnitOfWork],
    business_date: date,
    *,
    trigger: str,
    chunk_size: int | None = None,
) -> CloseOfBusinessResult | None:
    """Close of business of one day committing every chunk in its own transaction (the ops
    command): the relay publishes, and the ledger books, the first chunks' events while
    later chunks are computed. Each chunk's writes, events and the run's cursor commit
    together, so a crash resumes with the loans after the cursor (each loan reviewed once
    for the date) and a repeat of a finished date does nothing (``None``). ``chunk_size``:
    ``Settings.cob_chunk_size`` unless given."""
    async with new_uow() as uow:
        started = await _begin(uow, business_date, trigger)
        await uow.commit()
    if not started:
        log.info("close of business already done", business_date=str(business_date))
        return None
    async with new_uow() as uow:
        run = await _list_loans(uow, business_date, chunk_size or uow.settings.cob_chunk_size)
    while True:
        async with new_uow() as uow:
            try:
                result = await _close_next_chunk(uow, run)
            except AlreadyClosed:
                return None
            await uow.commit()
        if result is not None:
            return _done(result)


def _loan_day(day: LoanDayInput, o: LoanDayOutcome) -> LoanDay:
    assert day.loan.oldest_unpaid_due_date is not None  # reviewed: something is due
    return LoanDay(
        o.loan_id, day.loan.oldest_unpaid_due_date, o.dpd, o.bucket, o.stage.value, day.overdue
    )


def _state_changed(loan: TrackedLoan, o: LoanDayOutcome) -> bool:
    """Whether ``o`` changes any column close of business writes to ``loans`` (a loan that
    just fell due usually changes nothing: rewriting its row would only cost index and WAL
    writes)."""
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
