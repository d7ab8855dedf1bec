"""The restructure service's business clock: the ledger closes business days
(``ledger.business_day.closed.v1``); once a day ``D`` was closed (on every partition),
today is ``D + 1``. Before any close of business, today is the wall-clock date in the
business timezone. Offers expire, plans break and promises resolve by this clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def business_today(last_closed: date | None, zone: str, now: datetime) -> date:
    """The day after ``last_closed``; before any, the date of ``now`` in ``zone``."""
    if last_closed is not None:
        return last_closed + timedelta(days=1)
    return now.astimezone(ZoneInfo(zone)).date()
