"""``loan_version`` for the balance-carrying events (PaymentAllocated, PaymentReversed,
ChargeBooked, ScheduleRewritten, LoanDisbursed).

One PostgreSQL sequence serves every loan. Each such event of a loan is stamped while its
transaction holds the loan's row lock (taken before anything is read), so a later
transaction on the loan draws larger values than every earlier one, and within one
transaction values follow emission order: per loan, versions increase in the order the
events are published (gaps do not matter). A sequence rather than a counter on the loan
row: the batch penalty booking stamps its events with one statement and writes no loan
rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.contracts.ledger import (
    ChargeBooked,
    LoanDisbursed,
    PaymentAllocated,
    PaymentReversed,
    ScheduleRewritten,
)
from lendkit.events import CloudEvent
from lendkit.events.catalogue import CATALOGUE

_NEXT = "SELECT nextval('loan_versions') FROM generate_series(1, $1)"
_NEXT_TEXT = "SELECT nextval('loan_versions') FROM generate_series(1, :n)"

VERSIONED = frozenset(
    CATALOGUE.spec_for_model(m).type
    for m in (ChargeBooked, LoanDisbursed, PaymentAllocated, PaymentReversed, ScheduleRewritten)
)


async def next_versions(conn: Any, n: int) -> list[int]:
    """``n`` increasing versions through an asyncpg connection (one round trip)."""
    return [int(r[0]) for r in await conn.fetch(_NEXT, n)] if n else []


async def stamp_versions(session: AsyncSession, events: list[CloudEvent]) -> list[CloudEvent]:
    """``events`` with ``loan_version`` set on each balance-carrying one, in order."""
    wanted = [i for i, e in enumerate(events) if e.type in VERSIONED]
    if not wanted:
        return events
    rows = await session.execute(text(_NEXT_TEXT), {"n": len(wanted)})
    stamped = list(events)
    for i, (version,) in zip(wanted, rows, strict=True):
        data = orjson.loads(stamped[i].data)
        data["loan_version"] = int(version)
        stamped[i] = replace(stamped[i], data=orjson.dumps(data))
    return stamped
