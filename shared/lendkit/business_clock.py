"""The business clock: which business days a close of business for D must close, in order.

A business day is closed once, and days are closed without gaps: closing D when the clock
last closed D - 3 closes D - 2, D - 1 and D, in that order, each a day of its own (its
reminders, due events, penalties and end-of-day marker). A skipped day would otherwise be
lost for good: no repayment-due event, no penalty day, no marker for the services that
follow the ledger. A date before the clock's first closed day is refused: closing it now
would publish that day's events after later days' events.

No day after today is closed (:func:`ensure_not_after_today`): a day is closed once it is
over or ending, never ahead. "Today" (:func:`business_today`) is the wall-clock date in the
business timezone, or, on a simulated clock, the day after the last closed day.

Pure: the caller reads the closed range from its own table and closes the returned days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

DEFAULT_MAX_CATCH_UP_DAYS = 366


class BusinessClockError(ValueError):
    """A close of business that the business clock refuses."""


class BeforeBusinessClock(BusinessClockError):
    """The date is before the first day the clock ever closed."""


class CatchUpTooLong(BusinessClockError):
    """Closing the date would close more days at once than allowed."""


@dataclass(frozen=True)
class ClosedRange:
    """The first and the last business day closed so far."""

    first: date
    last: date


def days_to_close(
    closed: ClosedRange | None,
    business_date: date,
    *,
    max_catch_up_days: int = DEFAULT_MAX_CATCH_UP_DAYS,
) -> list[date]:
    """The days a close of ``business_date`` closes, oldest first, ending with it.

    ``[business_date]`` alone when the clock never ran (the clock starts there) or the date
    is within the closed range (closing it again is a no-op the caller detects). Every day
    after ``closed.last`` up to ``business_date`` when the clock is behind it.
    """
    if max_catch_up_days < 1:
        raise ValueError("max_catch_up_days must be at least 1")
    if closed is None or closed.first <= business_date <= closed.last:
        return [business_date]
    if business_date < closed.first:
        raise BeforeBusinessClock(
            f"business day {business_date} is before the business clock's first closed day "
            f"{closed.first}; it can no longer be closed"
        )
    gap = (business_date - closed.last).days
    if gap > max_catch_up_days:
        raise CatchUpTooLong(
            f"closing {business_date} would close {gap} business days at once (the clock last "
            f"closed {closed.last}); at most {max_catch_up_days} are allowed, close an earlier "
            "day first"
        )
    return [closed.last + timedelta(days=n) for n in range(1, gap + 1)]


class FutureBusinessDay(BusinessClockError):
    """The date is after today on the business clock."""


def business_today(
    now: datetime, zone: tzinfo, *, simulated: bool = False, last_closed: date | None = None
) -> date:
    """Today on the business clock, in ``zone``.

    On the real clock: the wall-clock date in ``zone`` at ``now``. On a simulated clock
    (a simulation driving a year through close of business in minutes): the day after the
    last closed business day, the day now open for business; the wall-clock date before
    the clock ever closed a day.
    """
    if simulated and last_closed is not None:
        return last_closed if last_closed == date.max else last_closed + timedelta(days=1)
    return now.astimezone(zone).date()


def ensure_not_after_today(business_date: date, today: date, *, what: str) -> None:
    """Refuse a close of business (or any business fact) dated after ``today``."""
    if business_date > today:
        raise FutureBusinessDay(
            f"{what} {business_date} is after today on the business clock ({today})"
        )
