"""Waiving penalty: the domain lowers what is owed, this records who, why and when.

The waiver is spread over the instalments whose penalty it reduces, oldest first, each
part at most what that instalment can still waive on the waiver's date
(``overdue.domain.waiver``); an amount that cannot apply whole is refused. Each part is
one audit row and one ``overdue.penalty.waived.v1``; the ledger books it (whole or not at
all) and its ``ChargeBooked`` is recorded on the row (:func:`waiver_booked`). Caps count
penalty assessed, so a waiver never makes room for more penalty.

A payment valued on or before a day penalty already accrued for unwinds, the same way,
the penalty days it would have prevented (:func:`unwind_for_backdated_payment`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from lendkit.contracts import ledger
from lendkit.contracts import overdue as contract
from lendkit.errors import Conflict
from lendkit.events import new_event
from overdue.adapters.records import TrackedLoan, WaiverRow
from overdue.domain.penalty import waive_penalty
from overdue.domain.waiver import base_paid, days_a_payment_unwinds, spread_waiver, unwind_parts
from overdue.service_layer.unit_of_work import OverdueUnitOfWork


class PolicyMissing(Conflict):
    """The loan's product has no valid overdue policy (never a default one)."""


#: who waives the penalty days a back-dated payment unwinds
UNWIND_ACTOR = "overdue:back-dated-payment"


@dataclass(frozen=True)
class WaiverPart:
    waiver_id: str
    seq: int
    amount_minor: int


@dataclass(frozen=True)
class WaiverRecorded:
    parts: tuple[WaiverPart, ...]
    amount_minor: int
    penalty_owed_minor: int


async def record_penalty_waiver(
    uow: OverdueUnitOfWork,
    loan: TrackedLoan,
    *,
    amount_minor: int,
    reason: str,
    waived_by: str,
    business_date: date,
) -> WaiverRecorded:
    """Raises ``overdue.domain.penalty.InvalidWaiver`` when the amount is not allowed."""
    state = waive_penalty(loan.penalty, amount_minor)
    spread = spread_waiver(
        amount_minor, await uow.waivers.penalties_by_instalment(loan.loan_id), business_date
    )
    parts = await _send_parts(
        uow, loan, [(seq, business_date, a) for seq, a in spread], reason, waived_by
    )
    await uow.loans.set_waived_to_date(loan.loan_id, state.waived_to_date_minor)
    return WaiverRecorded(tuple(parts), amount_minor, state.booked_to_date_minor)


async def unwind_for_backdated_payment(
    uow: OverdueUnitOfWork, loan: TrackedLoan, payment: ledger.PaymentAllocated
) -> int:
    """A new payment valued on or before the last day penalty accrued: waive, through the
    ledger like any waiver, the penalty days it would have prevented
    (``domain.waiver.days_a_payment_unwinds``), each day's part dated that day (so it
    reduces that day's charge). Returns the amount waived."""
    last = loan.penalty.last_accrued_on
    if last is None or payment.value_date > last:
        return 0
    policy = await uow.products.policy_for(loan.product_code)
    if policy is None:  # never a default policy (the payment parks until the product arrives)
        raise PolicyMissing(
            f"product {loan.product_code} of loan {loan.loan_id} has no valid overdue policy:"
            " the penalty days a back-dated payment unwinds cannot be found"
        )
    due = await uow.loans.due_dates(loan.loan_id)
    paid = base_paid(
        policy.penalty_base,
        [(x.seq, x.component.value, x.amount_minor) for x in payment.lines],
        due,
    )
    done = await uow.waivers.waived_days(loan.loan_id, UNWIND_ACTOR)  # by an earlier payment
    days = [
        d
        for d in days_a_payment_unwinds(
            await uow.waivers.penalty_days_since(loan.loan_id, payment.value_date),
            paid,
            payment.value_date,
        )
        if (d.seq, d.on) not in done
    ]
    if not days:
        return 0
    parts = unwind_parts(days, await uow.waivers.penalties_by_instalment(loan.loan_id))
    total = sum(a for _, _, a in parts)
    if total == 0:
        return 0
    reason = f"payment {payment.payment_id} valued {payment.value_date}: penalty days unwound"
    await _send_parts(uow, loan, parts, reason, UNWIND_ACTOR)
    await uow.loans.set_waived_to_date(loan.loan_id, loan.penalty.waived_to_date_minor + total)
    return total


async def _send_parts(
    uow: OverdueUnitOfWork,
    loan: TrackedLoan,
    parts: Sequence[tuple[int, date, int]],
    reason: str,
    waived_by: str,
) -> list[WaiverPart]:
    """One audit row and one ``overdue.penalty.waived.v1`` per ``(seq, date, amount)``."""
    sent, rows, events = [], [], []
    for seq, on, amount in parts:
        event = new_event(
            contract.PenaltyWaived(
                loan_id=loan.loan_id,
                seq=seq,
                business_date=on,
                amount_minor=amount,
                currency=loan.currency,
                reason=reason,
                waived_by=waived_by,
            ),
            source=uow.source,
        )
        part = WaiverPart(str(uuid.uuid4()), seq, amount)
        sent.append(part)
        events.append(event)
        rows.append(
            WaiverRow(
                waiver_id=part.waiver_id,
                loan_id=loan.loan_id,
                seq=seq,
                business_date=on,
                amount_minor=amount,
                reason=reason,
                waived_by=waived_by,
                event_id=event.id,
            )
        )
    await uow.waivers.add(rows)
    await uow.emit_all(events)
    return sent


async def waiver_booked(
    uow: OverdueUnitOfWork, loan: TrackedLoan, event_id: str, booked: int
) -> None:
    """The ledger booked ``booked`` (>= 0) for the waiver part sent as ``event_id``: record
    it, and correct the loan's waived total by any difference from what was asked."""
    asked = await uow.waivers.confirm(event_id, booked)
    if asked is not None and asked != booked:
        await uow.loans.set_waived_to_date(
            loan.loan_id, loan.penalty.waived_to_date_minor - asked + booked
        )
