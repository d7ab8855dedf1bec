"""Settling a loan after any money movement: the one step every use case ends with.

Payments, reversals, charges, waivers and schedule rewrites all end here:
:func:`resettle` replays the loan's allocations (``ledger.domain.resettlement``), posts
every changed allocation and writes the new position; :func:`settle_latest` allocates a
payment dated after everything else directly against the stored position (the same
outcome, without the history). :func:`consequences` are the events that follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ledger.adapters.contract_shapes import allocation_lines, open_balances
from ledger.adapters.records import InstalmentRecord, LoanState, PaymentRecord
from ledger.adapters.repository import LoanRepository
from ledger.domain import AllocationResult, InstalmentDue, ReplayOutcome, payment_entry
from ledger.domain.resettlement import (
    PAYMENT,
    allocate_latest,
    allocation_changes,
    replay_loan,
    replayed_allocations,
    settle_position,
)
from lendkit.contracts.ledger import InstalmentSettled, LoanSettled, PaymentAllocated
from lendkit.events import CloudEvent, new_event


@dataclass
class Resettlement:
    """What changed when the loan's allocations were re-run (or one payment allocated)."""

    #: Payment id -> its allocation, for every payment allocated by this settlement.
    payments: dict[str, AllocationResult]
    changed_payments: list[str] = field(default_factory=list)
    settled: list[InstalmentRecord] = field(default_factory=list)
    loan_settled: bool = False

    def for_payment(self, payment_id: str) -> AllocationResult:
        return self.payments[payment_id]


def replay_state(state: LoanState) -> ReplayOutcome:
    """The loan's full replay (``ledger.domain.resettlement.replay_loan``); ``state`` must
    have its history loaded."""
    return replay_loan(
        [i.contractual() for i in state.instalments],
        state.payments,
        state.charges,
        state.product.allocation_order,
    )


async def settle_latest(
    loans: LoanRepository, state: LoanState, payment: PaymentRecord
) -> Resettlement:
    """Allocate a payment that ``allocates_directly`` against the stored position: the same
    outcome as :func:`resettle`, without loading or replaying the history."""
    loan = state.loan
    result, outstanding = allocate_latest(
        [InstalmentDue(i.seq, i.due_date, i.outstanding) for i in state.instalments],
        payment.amount,
        payment.value_date,
        state.product.allocation_order,
    )
    settled, loan_settled = settle_position(
        loan,
        state.instalments,
        outstanding,
        loan.credit_balance + result.credit,
        payment.value_date,
    )
    settlement = Resettlement(
        {payment.payment_id: result}, [payment.payment_id], settled, loan_settled
    )
    if state.history_loaded:
        state.payments.append(payment)
        state.allocations[(PAYMENT, payment.payment_id)] = result
    state.latest_payment_date = payment.value_date
    await loans.save_settlement(
        state,
        {(PAYMENT, payment.payment_id): result},
        [payment_entry(result, loan.currency)],
        business_date=payment.value_date,
    )
    return settlement


async def resettle(loans: LoanRepository, state: LoanState, business_date: date) -> Resettlement:
    """Replay the loan, post every changed allocation, update the stored position."""
    if not state.history_loaded:
        await loans.load_history(state)
    loan = state.loan
    outcome = replay_state(state)
    fresh = replayed_allocations(outcome)
    diff = allocation_changes(
        state.allocations,
        fresh,
        {p.payment_id: p.value_date for p in state.payments},
        business_date,
        loan.currency,
    )
    state.allocations = fresh
    settled, loan_settled = settle_position(
        loan, state.instalments, outcome.outstanding, outcome.credit, business_date
    )
    result = Resettlement(
        {a.payment.payment_id: a.result for a in outcome.payments},
        diff.changed_payments,
        settled,
        loan_settled,
    )
    live = [p.value_date for p in state.payments if not p.reversed]
    state.latest_payment_date = max(live, default=None)
    await loans.save_settlement(state, diff.changes, diff.entries, business_date=business_date)
    for on in sorted(diff.later):
        await loans.add_journal_entries(loan.loan_id, diff.later[on], business_date=on)
    return result


def allocated_event(
    state: LoanState, payment: PaymentRecord, result: Resettlement, *, reallocation: bool
) -> PaymentAllocated:
    allocation = result.for_payment(payment.payment_id)
    return PaymentAllocated(
        loan_id=state.loan.loan_id,
        payment_id=payment.payment_id,
        value_date=payment.value_date,
        amount_minor=payment.amount,
        currency=state.loan.currency,
        lines=allocation_lines(allocation),
        credit_minor=allocation.credit,
        reallocation=reallocation,
        credit_balance_minor=state.loan.credit_balance,
        balances=open_balances(state.instalments),
    )


def consequences(
    source: str, state: LoanState, result: Resettlement, *, skip: str | None = None
) -> list[CloudEvent]:
    """Corrected allocations of the other payments, settled instalments, a settled loan."""
    by_id = {p.payment_id: p for p in state.payments}
    loan_id = state.loan.loan_id
    events = [
        new_event(allocated_event(state, by_id[pid], result, reallocation=True), source=source)
        for pid in result.changed_payments
        if pid != skip
    ]
    events += [
        new_event(
            InstalmentSettled(
                loan_id=loan_id,
                seq=i.seq,
                due_date=i.due_date,
                settled_on=i.settled_on or i.due_date,
            ),
            source=source,
        )
        for i in result.settled
    ]
    if result.loan_settled and state.loan.settled_on is not None:
        events.append(
            new_event(
                LoanSettled(
                    loan_id=loan_id,
                    settled_on=state.loan.settled_on,
                    credit_balance_minor=state.loan.credit_balance,
                ),
                source=source,
            )
        )
    return events
