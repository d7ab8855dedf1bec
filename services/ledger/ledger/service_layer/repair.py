"""Repair of loans holding a payment dated where no business day can be.

Before value dates were bounded, a caller could post ``value_date: 9999-12-31``: PostgreSQL
stores ``infinity``, and from then on every payment on the loan, its reversal and ``/owed``
failed. :func:`reverse_misdated_payments` finds every live payment valued after today on the
business clock in its loan's timezone (or at +/-infinity) and
reverses it through the normal chargeback path, so the audit trail is the usual one: the
payment row keeps the reason (naming the original value date), the journal has the
reversal, ``ledger.payment.reversed.v1`` is published. First the payment and the loan's
journal entries that the bad date put after today are moved to the repair day (nothing can
be loaded or replayed at infinity), so statements show the payment and its reversal
together. If the money was really received, ops post it again with its true
value date (``back_dated: true`` when that is before the last closed day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ledger.domain.clock import LedgerClock
from ledger.service_layer.commands import reverse_payment
from ledger.service_layer.unit_of_work import LedgerUnitOfWork

#: The furthest-ahead timezone (UTC+14): no loan's today is later than today there.
_AHEAD = ZoneInfo("Etc/GMT-14")


@dataclass(frozen=True)
class RepairedPayment:
    loan_id: str
    payment_id: str
    value_date: str
    reversed_on: date
    journal_entries_redated: int


async def reverse_misdated_payments(
    uow: LedgerUnitOfWork, clock: LedgerClock, *, apply: bool
) -> list[RepairedPayment]:
    """Reverse (``apply``) or only list the misdated live payments; the caller commits."""
    closed = await uow.business_days.last_closed()
    latest = clock.today(closed, _AHEAD).today
    found: list[RepairedPayment] = []
    # Loans' timezones span 26 hours: every loan's today is at most two days before ``latest``.
    for p in await uow.business_days.payments_dated_after(latest - timedelta(days=2)):
        today = clock.today(closed, ZoneInfo(p.timezone)).today
        if p.value_date not in ("infinity", "-infinity") and (
            date.fromisoformat(p.value_date) <= today
        ):
            continue  # within the loan's today after all (a zone behind UTC+14)
        moved = 0
        if apply:
            moved = await uow.business_days.redate_misdated(p.loan_id, p.payment_id, today)
            await reverse_payment(
                uow,
                loan_id=p.loan_id,
                payment_id=p.payment_id,
                reason=f"repair: value date {p.value_date} is not a business day the clock "
                f"can have (today is {today}); reversed",
                business_date=today,
            )
        found.append(RepairedPayment(p.loan_id, p.payment_id, p.value_date, today, moved))
    return found
