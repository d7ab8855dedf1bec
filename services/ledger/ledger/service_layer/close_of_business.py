"""Close of business for a business date D, set-based and idempotent per date.

The business clock never skips a day (``lendkit.business_clock``): closing D when the last
closed day is D - n closes D - n + 1 ... D in order, each earlier day committed on its
own and D in the caller's transaction, each day as below; a date before the first closed day is refused (409), and so is a catch-up longer
than ``max_catch_up_days`` (422). Runs are serialised by a transaction-scoped advisory lock.

For each day, in one transaction, with no per-loan Python loop:

1. claim D in ``cob_runs`` (a second run for D finds it claimed and does nothing);
2. recognise contractual interest of every instalment due on or before D not yet
   recognised (a journal entry per instalment, written set-based);
3. publish ``RepaymentUpcoming`` for instalments due D + n for each of the product's
   ``reminder_days_before`` (T-3 and T-1 by default) that still owe something;
4. publish ``RepaymentDue`` for instalments due on D that still owe something;
5. lapse every discounted settlement whose deadline is D or earlier and was not paid in
   time (``SettlementLapsed``; ``service_layer.restructuring.lapse_settlements``);
6. publish ``BusinessDayClosed`` to every partition of ``ledger.loans``, after the day's events.

Event ids are derived from (loan, version, instalment, date, kind), so even a replayed run
could not publish a reminder twice. The statements are ``ledger.adapters.close_of_business``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from ledger.adapters.close_of_business import DayCounts
from ledger.domain import interest_due_entry
from ledger.service_layer.restructuring import lapse_settlements
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.business_clock import (
    DEFAULT_MAX_CATCH_UP_DAYS,
    BeforeBusinessClock,
    CatchUpTooLong,
    days_to_close,
)
from lendkit.contracts.ledger import BusinessDayClosed
from lendkit.contracts.topics import LOAN_PARTITIONS
from lendkit.errors import Conflict, Invalid
from lendkit.events import new_event


@dataclass(frozen=True)
class CloseOfBusinessResult:
    business_date: date
    already_closed: bool
    upcoming: int = 0
    due: int = 0
    interest_recognised: int = 0
    caught_up: tuple[date, ...] = ()
    """Earlier days this run closed first, oldest first (the clock was behind)."""


async def close_business_day(
    uow: LedgerUnitOfWork,
    business_date: date,
    *,
    max_catch_up_days: int = DEFAULT_MAX_CATCH_UP_DAYS,
) -> CloseOfBusinessResult:
    """Close ``business_date`` and every unclosed day before it since the last closed day,
    oldest first; the caller commits. Raises ``Conflict`` for a day before the clock's first
    closed day and ``Invalid`` when more than ``max_catch_up_days`` would be closed."""
    await uow.close_of_business.lock()
    closed = await uow.close_of_business.closed_range()
    try:
        days = days_to_close(closed, business_date, max_catch_up_days=max_catch_up_days)
    except BeforeBusinessClock as exc:
        raise Conflict(str(exc)) from exc
    except CatchUpTooLong as exc:
        raise Invalid(str(exc)) from exc
    for day in days[:-1]:
        # Each day caught up commits on its own (as the overdue service commits per chunk):
        # a long catch-up holds no transaction open for all its days, its markers go out
        # day by day, and a failure keeps the days already closed (closing is idempotent
        # per date, so a retry carries on from there). This run's lock stays held meanwhile.
        async with uow.sibling() as day_uow:
            await _close_one_day(day_uow, day)
            await day_uow.commit()
    result = await _close_one_day(uow, business_date)
    return replace(result, caught_up=tuple(days[:-1]))


async def _close_one_day(uow: LedgerUnitOfWork, business_date: date) -> CloseOfBusinessResult:
    job = uow.close_of_business
    if not await job.claim(business_date):
        return CloseOfBusinessResult(business_date, already_closed=True)
    recognised = await job.recognise_interest(business_date, interest_due_entry(1, "CNY"))
    upcoming, due = await job.publish_reminders(business_date)
    await uow.emit_all(await lapse_settlements(uow, business_date))
    result = CloseOfBusinessResult(
        business_date,
        already_closed=False,
        upcoming=upcoming,
        due=due,
        interest_recognised=recognised,
    )
    await job.record(business_date, DayCounts(upcoming, due, recognised))
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
