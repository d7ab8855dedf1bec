"""Pausing and resuming delinquency tracking and penalty accrual for a loan.

While a loan is paused close of business skips it: no penalty accrues and no DPD-driven
event (bucket, stage, credit-report gate) is emitted. Days while paused are never
charged later, because accrual is always for the closing date only. On resume the DPD is
again measured from the oldest unpaid due date (the instalment really is that late), so
the first close of business after a resume may move the loan straight to a later bucket.

A restructuring plan pauses the loan when it is accepted (``restructure.plan.accepted.v1``);
the pause ends when the ledger rewrites the schedule for that plan
(``ledger.schedule.rewritten.v1``), from when the new schedule governs delinquency, when
it books a waiver (``ledger.plan.booked.v1`` without a rewrite), when a settlement lapses
(``ledger.settlement.lapsed.v1``) or when the plan breaks (``restructure.plan.broken.v1``).
The acceptance and the outcome come on different topics, which Kafka does not order
between them: an acceptance read after its plan's outcome (``loans.plan_outcome_seen``)
pauses nothing.
Operations can pause and resume through the API (Idempotency-Key).
"""

from __future__ import annotations

from lendkit.contracts import overdue as contract
from lendkit.events import new_event
from overdue.adapters.records import TrackedLoan
from overdue.service_layer.unit_of_work import OverdueUnitOfWork


async def pause_loan(
    uow: OverdueUnitOfWork,
    loan: TrackedLoan,
    *,
    reason: str,
    actor: str,
    plan_id: str | None = None,
) -> bool:
    """Pause; False when the loan was already paused (nothing emitted)."""
    if loan.paused:
        return False
    await uow.loans.set_paused(loan.loan_id, paused=True, reason=reason)
    await uow.emit(
        new_event(
            contract.DelinquencyPaused(
                loan_id=loan.loan_id, reason=reason, paused_by=actor, plan_id=plan_id
            ),
            source=uow.source,
        )
    )
    return True


async def resume_loan(
    uow: OverdueUnitOfWork, loan: TrackedLoan, *, reason: str, actor: str
) -> bool:
    """Resume; False when the loan was not paused (nothing emitted)."""
    if not loan.paused:
        return False
    await uow.loans.set_paused(loan.loan_id, paused=False, reason=None)
    await uow.emit(
        new_event(
            contract.DelinquencyResumed(loan_id=loan.loan_id, reason=reason, resumed_by=actor),
            source=uow.source,
        )
    )
    return True
