"""Waiving penalty: the domain lowers what is owed, this records who, why and when.

The waiver is spread over the instalments whose penalty it reduces, oldest first, each
part at most what that instalment can still waive on the waiver's date
(``overdue.domain.waiver``); an amount that cannot apply whole is refused. Each part is
one audit row and one ``overdue.penalty.waived.v1``; the ledger books it (whole or not at
all) and its ``ChargeBooked`` is recorded on the row (:func:`waiver_booked`). Caps count
penalty assessed, so a waiver never makes room for more penalty.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from lendkit.contracts import overdue as contract
from lendkit.db import UnitOfWork
from lendkit.events import new_event
from overdue.adapters.loan_book import LoanRecord, update_loan
from overdue.adapters.waiver_book import add_waivers, confirm_waiver, penalties_by_instalment
from overdue.domain.penalty import waive_penalty
from overdue.domain.waiver import spread_waiver


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
    uow: UnitOfWork,
    loan: LoanRecord,
    *,
    amount_minor: int,
    reason: str,
    waived_by: str,
    business_date: date,
) -> WaiverRecorded:
    """Raises ``overdue.domain.penalty.InvalidWaiver`` when the amount is not allowed."""
    state = waive_penalty(loan.penalty, amount_minor)
    session = uow.session
    spread = spread_waiver(
        amount_minor, await penalties_by_instalment(session, loan.loan_id), business_date
    )
    parts, rows, events = [], [], []
    for seq, amount in spread:
        event = new_event(
            contract.PenaltyWaived(
                loan_id=loan.loan_id,
                seq=seq,
                business_date=business_date,
                amount_minor=amount,
                currency=loan.currency,
                reason=reason,
                waived_by=waived_by,
            ),
            source=uow.source,
        )
        part = WaiverPart(str(uuid.uuid4()), seq, amount)
        parts.append(part)
        events.append(event)
        rows.append(
            {
                "waiver_id": part.waiver_id,
                "loan_id": loan.loan_id,
                "seq": seq,
                "business_date": business_date,
                "amount_minor": amount,
                "reason": reason,
                "waived_by": waived_by,
                "event_id": event.id,
            }
        )
    await add_waivers(session, rows)
    await update_loan(session, loan.loan_id, waived_to_date_minor=state.waived_to_date_minor)
    await uow.emit_all(events)
    return WaiverRecorded(tuple(parts), amount_minor, state.booked_to_date_minor)


async def waiver_booked(uow: UnitOfWork, loan: LoanRecord, event_id: str, booked: int) -> None:
    """The ledger booked ``booked`` (>= 0) for the waiver part sent as ``event_id``: record
    it, and correct the loan's waived total by any difference from what was asked."""
    asked = await confirm_waiver(uow.session, event_id, booked)
    if asked is not None and asked != booked:
        await update_loan(
            uow.session,
            loan.loan_id,
            waived_to_date_minor=loan.penalty.waived_to_date_minor - asked + booked,
        )
