"""The ledger's business clock: which day is "today" for a close of business, a payment's
value date and what a borrower owes (``lendkit.business_clock`` holds the rules).

On the real clock today is the wall-clock date (in the business timezone for a close of
business, in the loan's timezone for its payments and ``/owed``), and no day after it may
be closed. On a simulated clock (``LEDGER_SIMULATED_CLOCK=true``) today is the day after
the last closed business day, and any day may be closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ledger.adapters.business_days import ClosedDay
from ledger.service_layer.errors import Invalid
from ledger.settings import Settings
from lendkit.business_clock import FutureBusinessDay, business_today, ensure_not_after_today


@dataclass(frozen=True)
class BusinessToday:
    """Today for one timezone, and the last closed business day (None before the first)."""

    today: date
    last_closed: ClosedDay | None

    @property
    def last_closed_date(self) -> date | None:
        return None if self.last_closed is None else self.last_closed.business_date


@dataclass(frozen=True)
class LedgerClock:
    zone: ZoneInfo
    simulated: bool = False
    settle_seconds: int = 120

    @classmethod
    def from_settings(cls, settings: Settings) -> LedgerClock:
        return cls(
            ZoneInfo(settings.business_timezone),
            settings.simulated_clock,
            settings.penalty_settle_seconds,
        )

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def today(self, closed: ClosedDay | None, zone: ZoneInfo | None = None) -> BusinessToday:
        """Today in ``zone`` (default: the business timezone), given the last closed
        business day (``ledger.adapters.business_days.last_closed_day``)."""
        today = business_today(
            self.now(),
            zone or self.zone,
            simulated=self.simulated,
            last_closed=None if closed is None else closed.business_date,
        )
        return BusinessToday(today, closed)

    def ensure_may_close(self, business_date: date) -> None:
        """A close of business for a day after today in the business timezone is refused
        (``Invalid`` naming ``business_date``), unless the clock is simulated."""
        if self.simulated:
            return
        today = business_today(self.now(), self.zone)
        try:
            ensure_not_after_today(business_date, today, what="business_date")
        except FutureBusinessDay as exc:
            raise Invalid(
                f"{exc} in {self.zone.key}; a day is closed when it ends, never ahead",
                field="business_date",
            ) from exc
