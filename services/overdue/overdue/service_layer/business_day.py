"""When may date D be closed? Only when every ledger partition said so.

The ledger writes ``ledger.business_day.closed.v1`` for D to every partition of
``ledger.loans`` *after* all of that day's events. Our consumer applies one partition's
records in order, so once the marker of partition p is recorded every D event on p has
been applied (payments included). When markers from all ``partitions`` are recorded,
everything the ledger published for D has been consumed, and close of business for D
runs right here, in the consumer of the last marker. A payment still in flight on another
partition therefore can never make a loan falsely overdue.

The close commits chunk by chunk in transactions of its own (``uow.sibling``), as the ops
command does: the relay publishes the first chunks' events while later ones are computed,
and a chunk's loans are locked only while that chunk is written. The marker's own
transaction commits after the close. Should it never commit (a crash), the marker comes
again and the close resumes after its cursor or finds the date finished: every loan is
reviewed once for the date. The marker's transaction locks no loan, so the chunks never
wait on it.

Markers of different partitions are handled concurrently, each in its own transaction; a
transaction-scoped advisory lock serialises them so that exactly one of them sees the full
set (READ COMMITTED: after the lock, the count sees the other markers' commits).

Days are closed without gaps (``lendkit.business_clock``): should a day's markers never
have completed (one was dead-lettered and not yet replayed), the next complete day closes
it first. That is safe: each partition's markers arrive in date order, so a complete set
for D means every partition is past the earlier days too. A marker for a day before this
service's first closed day goes to the dead-letter topic with the reason.

The markers cover ``ledger.loans`` only. Products come on ``ledger.products``, which Kafka
does not order against it: after a rebalance or a restart a loan's disbursement can be
applied before its product (the ledger published the product first). A close run then would
block the loan for the day, and blocked days are never charged later: penalty lost because
of consumer timing. So a complete set of markers closes the day only when every product the
loans name is stored or refused (``refused_products``); otherwise the close waits, logged
and on the ``close_of_business_waiting_for_products`` gauge, and the product's arrival (or
refusal) runs it (:func:`close_days_held_for_products`). Both take the marker lock, so one
of them always sees the other's commit. A product whose event is lost for good holds the
close until ops run it (``python -m overdue.entrypoints.cli close-of-business D``),
which does not wait and blocks those loans.
"""

from __future__ import annotations

from datetime import date

from prometheus_client import Gauge

from lendkit.business_clock import BusinessClockError
from lendkit.contracts.ledger import BusinessDayClosed
from lendkit.errors import Conflict
from lendkit.logging import get_logger
from overdue.service_layer.close_of_business import (
    CloseOfBusinessResult,
    close_business_days_in_chunks,
)
from overdue.service_layer.unit_of_work import OverdueUnitOfWork

log = get_logger(__name__)

COB_WAITING_FOR_PRODUCTS = Gauge(
    "close_of_business_waiting_for_products",
    "Products that loans name and this service has not received yet, holding the close of "
    "a day whose markers are complete (0 when no close waits).",
)


class DayCannotClose(Conflict):
    """A marker for a day this service cannot close (before its first closed day, say)."""


async def record_day_marker(
    uow: OverdueUnitOfWork, marker: BusinessDayClosed
) -> CloseOfBusinessResult | None:
    """Record the marker; run close of business when it completes the set for its date.
    Raises :class:`DayCannotClose` (the handler's refusal: a dead letter with the reason)."""
    seen = await uow.days.record_marker(marker.business_date, marker.partition, marker.partitions)
    if seen < marker.partitions:
        return None
    awaited = await uow.products.awaited()
    COB_WAITING_FOR_PRODUCTS.set(len(awaited))
    if awaited:
        log.warning(
            "close of business waits for products not received yet",
            business_date=str(marker.business_date),
            products=awaited,
        )
        return None
    return await _close(uow, marker.business_date, "ledger markers")


async def close_days_held_for_products(uow: OverdueUnitOfWork) -> CloseOfBusinessResult | None:
    """After a product was stored or refused (committed): run the close that waited for it,
    if its markers are complete and no other product is still awaited."""
    async with uow.sibling() as check:
        await check.days.lock_markers()  # a marker transaction either committed or waits
        day = await check.days.latest_complete_unclosed()
        awaited = await check.products.awaited() if day is not None else []
        await check.commit()
    if day is None:
        return None
    COB_WAITING_FOR_PRODUCTS.set(len(awaited))
    if awaited:
        return None
    return await _close(uow, day, "ledger markers (after the products arrived)")


async def _close(uow: OverdueUnitOfWork, day: date, trigger: str) -> CloseOfBusinessResult | None:
    try:
        closed = await close_business_days_in_chunks(uow.sibling, day, trigger=trigger)
    except BusinessClockError as exc:  # e.g. a date before this service's first closed day
        raise DayCannotClose(f"business day {day} cannot be closed: {exc}") from exc
    return closed[-1][1]
