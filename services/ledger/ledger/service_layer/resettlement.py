"""Re-running a loan's allocation after any money movement, and posting the differences.

Every change (payment, reversal, charge, waiver, schedule rewrite) ends here: the domain's
``replay_allocations`` recomputes every payment's and credit application's allocation from
the contractual schedule; each allocation that differs from the stored one is superseded,
with the old journal entry reversed and the new one posted. So a back-dated payment or a
chargeback corrects every later allocation, and the journal always mirrors the allocations.

The one exception is the common case: a payment whose value date is on or after every
other live payment's value date and every charge's booking date. The replay would walk
the history exactly as last time, book any charge still pending before the new payment
(it is dated after them), and then allocate the new payment against what is outstanding,
which is the stored position. So :func:`settle_latest` allocates it directly with
``allocate_payment`` and changes no other allocation
(``tests/unit/test_direct_allocation.py`` checks the equivalence property-based).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from ledger.adapters.records import (
    AllocationKey,
    ChargeRecord,
    InstalmentRecord,
    LoanState,
    PaymentRecord,
)
from ledger.adapters.repository import LoanRepository
from ledger.domain import (
    AllocationOrder,
    AllocationResult,
    Charge,
    Component,
    InstalmentDue,
    JournalEntry,
    Payment,
    ReplayOutcome,
    allocate_payment,
    apply_allocation,
    credit_applied_entry,
    payment_entry,
    payment_reversal_entry,
    replay_allocations,
)

PAYMENT = "payment"
CREDIT = "credit"


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


@dataclass
class _Remaining:
    record: ChargeRecord
    amount: int


def net_charges(records: Iterable[ChargeRecord]) -> list[Charge]:
    """Charges as the replay wants them: positive, net of waivers and transfers out.

    In business-date order (on one date, charges before reductions), a negative row
    (waiver, transfer out) reduces the latest remaining charges of the same instalment and
    component dated on or before it. :func:`unnetted` says how much of the reductions found
    nothing to reduce (a waiver refuses to be booked when it would leave any).
    """
    return _net(records)[0]


def unnetted(records: Iterable[ChargeRecord]) -> int:
    """How much of the negative rows found no charge to reduce (see :func:`net_charges`)."""
    return _net(records)[1]


def _net(records: Iterable[ChargeRecord]) -> tuple[list[Charge], int]:
    stacks: dict[tuple[int, Component], list[_Remaining]] = defaultdict(list)
    ordered: list[_Remaining] = []
    short = 0
    for r in sorted(records, key=lambda c: (c.business_date, c.amount < 0)):
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
        short += left
    charges = [
        Charge(
            i.record.seq, i.record.component, i.amount, i.record.business_date, i.record.charge_id
        )
        for i in ordered
        if i.amount > 0
    ]
    return charges, short


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


def allocates_directly(
    value_date: date, latest_payment: date | None, latest_charge: date | None
) -> bool:
    """Whether a new payment can skip the replay: dated on or after every live payment
    and every charge (booked, waived or transferred)."""
    return all(d is None or value_date >= d for d in (latest_payment, latest_charge))


def allocate_latest(
    position: Sequence[InstalmentDue], amount: int, value_date: date, order: AllocationOrder
) -> tuple[AllocationResult, tuple[InstalmentDue, ...]]:
    """A payment dated after everything else, against the current position: its
    allocation and the position after it (the credit it leaves adds to held credit)."""
    result = allocate_payment(amount, position, order, value_date)
    return result, apply_allocation(position, result.lines)


def _settle_position(
    state: LoanState,
    outstanding: Iterable[InstalmentDue],
    credit: int,
    business_date: date,
    result: Resettlement,
) -> None:
    """Carry the new position into the loan's records; note what got settled."""
    loan = state.loan
    position = {due.seq: due for due in outstanding}
    for instalment in state.instalments:
        was_open = instalment.owed > 0
        instalment.outstanding = {c: position[instalment.seq].owes(c) for c in Component}
        if was_open and instalment.owed == 0:
            instalment.settled_on = business_date
            result.settled.append(instalment)
        elif instalment.owed > 0:
            instalment.settled_on = None
    loan.credit_balance = credit
    if all(i.owed == 0 for i in state.instalments):
        if loan.status != "settled":
            loan.status, loan.settled_on = "settled", business_date
            result.loan_settled = True
    else:
        loan.status, loan.settled_on = "active", None


async def settle_latest(
    repo: LoanRepository, state: LoanState, payment: PaymentRecord
) -> Resettlement:
    """Allocate a payment that :func:`allocates_directly` against the stored position:
    the same outcome as :func:`resettle`, without loading or replaying the history."""
    loan = state.loan
    result, outstanding = allocate_latest(
        [InstalmentDue(i.seq, i.due_date, i.outstanding) for i in state.instalments],
        payment.amount,
        payment.value_date,
        state.product.allocation_order,
    )
    settlement = Resettlement({payment.payment_id: result}, [payment.payment_id])
    credit = loan.credit_balance + result.credit
    _settle_position(state, outstanding, credit, payment.value_date, settlement)
    if state.history_loaded:
        state.payments.append(payment)
        state.allocations[(PAYMENT, payment.payment_id)] = result
    state.latest_payment_date = payment.value_date
    await repo.save_settlement(
        state,
        {(PAYMENT, payment.payment_id): result},
        [payment_entry(result, loan.currency)],
        business_date=payment.value_date,
    )
    return settlement


def replay_loan(state: LoanState) -> ReplayOutcome:
    """The loan's full replay from its contractual schedule: every payment (reversed ones
    left out) and every charge net of waivers, in the product's allocation order.
    ``state`` must have its history loaded."""
    return replay_allocations(
        [i.contractual() for i in state.instalments],
        [
            Payment(p.payment_id, p.value_date, p.amount, p.receipt_order, p.reversed)
            for p in state.payments
        ],
        net_charges(state.charges),
        state.product.allocation_order,
    )


async def resettle(repo: LoanRepository, state: LoanState, business_date: date) -> Resettlement:
    """Replay the loan, post every changed allocation, update the stored position."""
    if not state.history_loaded:
        await repo.load_history(state)
    loan = state.loan
    outcome = replay_loan(state)
    fresh = _allocations(outcome)
    value_dates = {p.payment_id: p.value_date for p in state.payments}
    entries: list[JournalEntry] = []
    later: dict[date, list[JournalEntry]] = defaultdict(list)
    changes: dict[AllocationKey, AllocationResult | None] = {}
    changed: list[str] = []
    for key in sorted(set(state.allocations) | set(fresh)):
        old, new = state.allocations.get(key), fresh.get(key)
        if old == new:
            continue
        # A payment's re-allocation is never dated before the payment's value date: a
        # statement shows the payment, and every correction of it, on or after that day.
        on = max(business_date, value_dates[key[1]]) if key[0] == PAYMENT else business_date
        dated = entries if on == business_date else later[on]
        if old is not None and (entry := _reverse(key, old, loan.currency)) is not None:
            dated.append(entry)
        if new is not None and (entry := _post(key, new, loan.currency)) is not None:
            dated.append(entry)
        changes[key] = new
        if key[0] == PAYMENT and new is not None:
            changed.append(key[1])
    state.allocations = fresh
    result = Resettlement({a.payment.payment_id: a.result for a in outcome.payments}, changed)
    _settle_position(state, outcome.outstanding, outcome.credit, business_date, result)
    live = [p.value_date for p in state.payments if not p.reversed]
    state.latest_payment_date = max(live, default=None)
    await repo.save_settlement(state, changes, entries, business_date=business_date)
    for on in sorted(later):
        await repo.add_journal_entries(loan.loan_id, later[on], business_date=on)
    return result
