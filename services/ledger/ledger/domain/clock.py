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
from typing import Protocol
from zoneinfo import ZoneInfo

from ledger.domain.errors import InvalidValueDate
from lendkit.business_clock import FutureBusinessDay, business_today, ensure_not_after_today


@dataclass(frozen=True)
class ClosedDay:
    """A closed business day, and when it was closed."""

    business_date: date
    closed_at: datetime


class ClockSettings(Protocol):
    """The settings a clock is made from (``ledger.settings.Settings``)."""

    @property
    def business_timezone(self) -> str: ...
    @property
    def simulated_clock(self) -> bool: ...
    @property
    def penalty_settle_seconds(self) -> int: ...


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
    def from_settings(cls, settings: ClockSettings) -> LedgerClock:
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
        business day (``uow.business_days.last_closed()``)."""
        today = business_today(
            self.now(),
            zone or self.zone,
            simulated=self.simulated,
            last_closed=None if closed is None else closed.business_date,
        )
        return BusinessToday(today, closed)

    def ensure_may_close(self, business_date: date) -> None:
        """A close of business for a day after today in the business timezone is refused
        (``InvalidValueDate`` naming ``business_date``), unless the clock is simulated."""
        if self.simulated:
            return
        today = business_today(self.now(), self.zone)
        try:
            ensure_not_after_today(business_date, today, what="business_date")
        except FutureBusinessDay as exc:
            raise InvalidValueDate(
                f"{exc} in {self.zone.key}; a day is closed when it ends, never ahead",
                field="business_date",
            ) from exc


def check_value_date(
    value_date: date, *, disbursed_on: date, clock: BusinessToday, back_dated: bool
) -> None:
    """Refuse a payment value date the business clock cannot have (``InvalidValueDate``
    naming the field)."""
    if value_date > clock.today:
        raise InvalidValueDate(
            f"value_date {value_date} is after today on the business clock ({clock.today})",
            field="value_date",
        )
    if value_date < disbursed_on:
        raise InvalidValueDate(
            f"value_date {value_date} is before the disbursement ({disbursed_on})",
            field="value_date",
        )
    last_closed = clock.last_closed_date
    if last_closed is not None and value_date < last_closed and not back_dated:
        raise InvalidValueDate(
            f"value_date {value_date} is before the last closed business day "
            f"({last_closed}); only ops or admin may back-date a payment "
            "(back_dated: true)",
            field="value_date",
        )


def check_reversal_date(business_date: date | None, today: date) -> date:
    """A reversal's business date: default today, never after it."""
    if business_date is not None and business_date > today:
        raise InvalidValueDate(
            f"business_date {business_date} is after today on the business clock ({today})",
            field="business_date",
        )
    return business_date or today
