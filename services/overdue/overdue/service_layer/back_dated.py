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
from lendkit.contracts.money import Component
from lendkit.db import UnitOfWork
from overdue.adapters.day_history import loan_days_since, revise_loan_days
from overdue.adapters.loan_book import LoanRecord
from overdue.adapters.waiver_book import due_dates
from overdue.service_layer.penalty_waivers import unwind_for_backdated_payment


async def apply_back_dated_payment(
    uow: UnitOfWork, loan: LoanRecord, payment: ledger.PaymentAllocated
) -> None:
    if payment.reallocation:
        return
    await unwind_for_backdated_payment(uow, loan, payment)
    days = await loan_days_since(uow.session, loan.loan_id, payment.value_date)
    if not days:
        return
    due = await due_dates(uow.session, loan.loan_id)
    revised = []
    for on, day in days:
        paid = dict.fromkeys(Component, 0)
        for line in payment.lines:
            if line.seq in due and due[line.seq] < on:
                paid[line.component] += line.amount_minor
        revised.append(
            (
                on,
                day.overdue.less(
                    paid[Component.PRINCIPAL],
                    paid[Component.INTEREST],
                    paid[Component.PENALTY],
                    paid[Component.FEE],
                ),
            )
        )
    await revise_loan_days(uow.session, loan.loan_id, revised)
