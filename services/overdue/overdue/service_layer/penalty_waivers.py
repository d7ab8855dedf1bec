"""Waiving penalty: the domain lowers what is owed, this records who, why and when.

The waiver is booked against the oldest instalment with penalty outstanding (as the
ledger last reported it); the ledger books it as a negative penalty charge when it reads
``overdue.penalty.waived.v1``. Caps count penalty assessed, so a waiver never makes room
for more penalty.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select

from lendkit.contracts import overdue as contract
from lendkit.db import UnitOfWork
from lendkit.events import new_event
from overdue.adapters.loan_book import LoanRecord, oldest_seq_with, update_loan
from overdue.adapters.tables import instalments, penalty_waivers
from overdue.domain.penalty import waive_penalty


@dataclass(frozen=True)
class WaiverRecorded:
    waiver_id: str
    seq: int
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
    seq = await oldest_seq_with(session, loan.loan_id, "penalty")
    if seq is None:
        seq = await session.scalar(
            select(func.min(instalments.c.seq)).where(instalments.c.loan_id == loan.loan_id)
        )
    seq = seq or 1
    waiver_id = str(uuid.uuid4())
    await session.execute(
        insert(penalty_waivers).values(
            waiver_id=waiver_id,
            loan_id=loan.loan_id,
            seq=seq,
            business_date=business_date,
            amount_minor=amount_minor,
            reason=reason,
            waived_by=waived_by,
        )
    )
    await update_loan(session, loan.loan_id, waived_to_date_minor=state.waived_to_date_minor)
    await uow.emit(
        new_event(
            contract.PenaltyWaived(
                loan_id=loan.loan_id,
                seq=seq,
                business_date=business_date,
                amount_minor=amount_minor,
                currency=loan.currency,
                reason=reason,
                waived_by=waived_by,
            ),
            source=uow.source,
        )
    )
    return WaiverRecorded(waiver_id, seq, amount_minor, state.booked_to_date_minor)
