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
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from lendkit.business_clock import BusinessClockError
from lendkit.consumer import RejectedEvent
from lendkit.contracts.ledger import BusinessDayClosed
from lendkit.db import UnitOfWork
from overdue.adapters.tables import day_markers
from overdue.service_layer.close_of_business import (
    CloseOfBusinessResult,
    close_business_days_in_chunks,
)

_MARKER_LOCK = 0x6F7665726475  # "overdu": one marker transaction at a time


async def record_day_marker(
    uow: UnitOfWork, marker: BusinessDayClosed
) -> CloseOfBusinessResult | None:
    """Record the marker; run close of business when it completes the set for its date."""
    session = uow.session
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MARKER_LOCK})
    await session.execute(
        insert(day_markers)
        .values(
            business_date=marker.business_date,
            partition=marker.partition,
            partitions=marker.partitions,
        )
        .on_conflict_do_nothing()
    )
    seen = await session.scalar(
        select(func.count()).where(day_markers.c.business_date == marker.business_date)
    )
    if (seen or 0) < marker.partitions:
        return None
    try:
        closed = await close_business_days_in_chunks(
            uow.sibling, marker.business_date, trigger="ledger markers"
        )
    except BusinessClockError as exc:  # e.g. a date before this service's first closed day
        raise RejectedEvent(f"business day {marker.business_date} cannot be closed: {exc}") from exc
    return closed[-1][1]
