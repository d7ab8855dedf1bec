"""A payment valued on or before a closed business day.

The ledger re-runs its allocation from the payment's value date, so for every day from
then on it now answers as if the payment had been there. The overdue service follows:

- the penalty days the payment would have prevented are unwound through the ledger
  (``penalty_waivers.unwind_for_backdated_payment``);
- the recorded history of those days (``loan_days``) is revised: what the payment paid on
  instalments due before each day no longer counts as past due that day, and a day left
  with no principal or interest past due is no longer recorded as past due (its
  explanation then comes from the current balances). DPD and the oldest unpaid due date
  recorded for a day the payment only lowered stay as they were.

Corrected allocations of other payments (``reallocation``) do not revise history.
"""

from __future__ import annotations

from lendkit.contracts import ledger
from overdue.adapters.records import TrackedLoan
from overdue.domain.waiver import revised_history
from overdue.service_layer.penalty_waivers import unwind_for_backdated_payment
from overdue.service_layer.unit_of_work import OverdueUnitOfWork


async def apply_back_dated_payment(
    uow: OverdueUnitOfWork, loan: TrackedLoan, payment: ledger.PaymentAllocated
) -> None:
    if payment.reallocation:
        return
    await unwind_for_backdated_payment(uow, loan, payment)
    days = await uow.history.loan_days_since(loan.loan_id, payment.value_date)
    if not days:
        return
    due = await uow.loans.due_dates(loan.loan_id)
    revised = revised_history(
        [(on, day.overdue) for on, day in days],
        [(x.seq, x.component.value, x.amount_minor) for x in payment.lines],
        due,
    )
    await uow.history.revise_loan_days(loan.loan_id, revised)
