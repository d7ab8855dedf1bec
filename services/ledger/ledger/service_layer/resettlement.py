"""Re-running a loan's allocation after any money movement, and posting the differences.

Every change (payment, reversal, charge, waiver, schedule rewrite) ends here: the domain's
``replay_allocations`` recomputes every payment's and credit application's allocation from
the contractual schedule; each allocation that differs from the stored one is superseded,
with the old journal entry reversed and the new one posted. So a back-dated payment or a
chargeback corrects every later allocation, and the journal always mirrors the allocations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from ledger.adapters.records import AllocationKey, ChargeRecord, InstalmentRecord, LoanState
from ledger.adapters.repository import LoanRepository
from ledger.domain import (
    AllocationResult,
    Charge,
    Component,
    JournalEntry,
    Payment,
    ReplayOutcome,
    credit_applied_entry,
    payment_entry,
    payment_reversal_entry,
    replay_allocations,
)

PAYMENT = "payment"
CREDIT = "credit"


@dataclass
class Resettlement:
    """What changed when the loan's allocations were re-run."""

    outcome: ReplayOutcome
    changed_payments: list[str] = field(default_factory=list)
    settled: list[InstalmentRecord] = field(default_factory=list)
    loan_settled: bool = False


@dataclass
class _Remaining:
    record: ChargeRecord
    amount: int


def net_charges(records: Iterable[ChargeRecord]) -> list[Charge]:
    """Charges as the replay wants them: positive, net of waivers and transfers out.

    A negative row (waiver, transfer out) reduces the latest remaining charges of the
    same instalment and component first.
    """
    stacks: dict[tuple[int, Component], list[_Remaining]] = defaultdict(list)
    ordered: list[_Remaining] = []
    for r in sorted(records, key=lambda c: c.business_date):
        stack = stacks[(r.seq, r.component)]
        if r.amount > 0:
            stack.append(item := _Remaining(r, r.amount))
            ordered.append(item)
            continue
        left = -r.amount
        for item in reversed(stack):
            take = min(left, item.amount)
            item.amount -= take
            left -= take
    return [
        Charge(
            i.record.seq, i.record.component, i.amount, i.record.business_date, i.record.charge_id
        )
        for i in ordered
        if i.amount > 0
    ]


def _allocations(outcome: ReplayOutcome) -> dict[AllocationKey, AllocationResult]:
    found: dict[AllocationKey, AllocationResult] = {
        (PAYMENT, a.payment.payment_id): a.result for a in outcome.payments
    }
    for application in outcome.credit_applications:
        if application.applied > 0:
            found[(CREDIT, application.charge.charge_id)] = application.result
    return found


def _reverse(key: AllocationKey, result: AllocationResult, currency: str) -> JournalEntry | None:
    if key[0] == PAYMENT:
        return payment_reversal_entry(result, currency) if result.amount > 0 else None
    return credit_applied_entry(result.lines, currency).reversed("credit application reversed")


def _post(key: AllocationKey, result: AllocationResult, currency: str) -> JournalEntry | None:
    if key[0] == PAYMENT:
        return payment_entry(result, currency) if result.amount > 0 else None
    return credit_applied_entry(result.lines, currency)


async def resettle(repo: LoanRepository, state: LoanState, business_date: date) -> Resettlement:
    """Replay the loan, post every changed allocation, update the stored position."""
    loan = state.loan
    outcome = replay_allocations(
        [i.contractual() for i in state.instalments],
        [
            Payment(p.payment_id, p.value_date, p.amount, p.receipt_order, p.reversed)
            for p in state.payments
        ],
        net_charges(state.charges),
        state.product.allocation_order,
    )
    fresh = _allocations(outcome)
    entries: list[JournalEntry] = []
    changed: list[str] = []
    for key in sorted(set(state.allocations) | set(fresh)):
        old, new = state.allocations.get(key), fresh.get(key)
        if old == new:
            continue
        if old is not None and (entry := _reverse(key, old, loan.currency)) is not None:
            entries.append(entry)
        if new is not None and (entry := _post(key, new, loan.currency)) is not None:
            entries.append(entry)
        await repo.save_allocation(loan.loan_id, key, new)
        if key[0] == PAYMENT and new is not None:
            changed.append(key[1])
    state.allocations = fresh
    await repo.add_journal_entries(loan.loan_id, entries, business_date=business_date)

    result = Resettlement(outcome, changed)
    position = {due.seq: due for due in outcome.outstanding}
    for instalment in state.instalments:
        was_open = instalment.owed > 0
        instalment.outstanding = {c: position[instalment.seq].owes(c) for c in Component}
        if was_open and instalment.owed == 0:
            instalment.settled_on = business_date
            result.settled.append(instalment)
        elif instalment.owed > 0:
            instalment.settled_on = None
    loan.credit_balance = outcome.credit
    if all(i.owed == 0 for i in state.instalments):
        if loan.status != "settled":
            loan.status, loan.settled_on = "settled", business_date
            result.loan_settled = True
    else:
        loan.status, loan.settled_on = "active", None
    await repo.save_loan_position(state)
    return result
