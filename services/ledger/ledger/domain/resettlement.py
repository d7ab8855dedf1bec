"""The pure part of re-running a loan's allocation after a money movement.

Every change (payment, reversal, charge, waiver, schedule rewrite) re-runs the loan's
allocations: :func:`replay_loan` recomputes every payment's and credit application's
allocation from the contractual schedule; :func:`allocation_changes` says which stored
allocations differ and the journal entries that reverse the old and post the new; and
:func:`settle_position` carries the replayed position into the loan's instalments.

The one exception is the common case: a payment whose value date is on or after every
other live payment's value date and every charge's booking date
(:func:`allocates_directly`). The replay would walk the history exactly as last time, book
any charge still pending before the new payment (it is dated after them), and then
allocate the new payment against what is outstanding, which is the stored position. So
:func:`allocate_latest` allocates it directly and changes no other allocation
(``tests/unit/test_direct_allocation.py`` checks the equivalence property-based).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, TypeVar

from ledger.domain.allocation import (
    AllocationOrder,
    AllocationResult,
    InstalmentDue,
    allocate_payment,
    apply_allocation,
)
from ledger.domain.charges import BookedCharge, net_charges
from ledger.domain.component import LedgerComponent
from ledger.domain.journal import (
    JournalEntry,
    credit_applied_entry,
    payment_entry,
    payment_reversal_entry,
)
from ledger.domain.replay import Payment, ReplayOutcome, replay_allocations

PAYMENT = "payment"
CREDIT = "credit"

AllocationKey = tuple[str, str]
"""(source_kind, source_id): ("payment", payment id) or ("credit", charge id)."""


class ReceivedPayment(Protocol):
    @property
    def payment_id(self) -> str: ...
    @property
    def value_date(self) -> date: ...
    @property
    def amount(self) -> int: ...
    @property
    def receipt_order(self) -> int: ...
    @property
    def reversed(self) -> bool: ...


class OpenInstalment(Protocol):
    """An instalment's stored position (the adapters' ``InstalmentRecord``)."""

    seq: int
    outstanding: dict[LedgerComponent, int]
    settled_on: date | None

    @property
    def owed(self) -> int: ...


class LoanBalance(Protocol):
    """A loan's stored status and credit (the adapters' ``LoanRecord``)."""

    status: str
    credit_balance: int
    settled_on: date | None


InstalmentT = TypeVar("InstalmentT", bound=OpenInstalment)


def replay_loan(
    contractual: Sequence[InstalmentDue],
    payments: Iterable[ReceivedPayment],
    charges: Iterable[BookedCharge],
    order: AllocationOrder,
    *,
    as_of: date | None = None,
) -> ReplayOutcome:
    """The loan's full replay from its contractual schedule: every payment (reversed ones
    left out) and every charge net of waivers, in the product's allocation order; with
    ``as_of``, only what is dated on or before it."""
    return replay_allocations(
        list(contractual),
        [
            Payment(p.payment_id, p.value_date, p.amount, p.receipt_order, p.reversed)
            for p in payments
            if as_of is None or p.value_date <= as_of
        ],
        [c for c in net_charges(charges) if as_of is None or c.booked_on <= as_of],
        order,
    )


def replayed_allocations(outcome: ReplayOutcome) -> dict[AllocationKey, AllocationResult]:
    """Every allocation a replay made, by key (credit applications that applied nothing
    are none)."""
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


@dataclass
class AllocationChanges:
    """What a replay changed against the stored allocations."""

    #: Journal entries dated on the settlement's business date.
    entries: list[JournalEntry] = field(default_factory=list)
    #: Entries dated later (a payment's re-allocation is never dated before its value date).
    later: dict[date, list[JournalEntry]] = field(default_factory=dict)
    #: Each changed key -> its new allocation (None: it no longer exists).
    changes: dict[AllocationKey, AllocationResult | None] = field(default_factory=dict)
    #: Payments whose allocation changed (and still exists), in the replay's order (value
    #: date, then as received): their corrected allocations are published in that order,
    #: whatever the payments' ids (a payment booked alone or in a batch publishes alike).
    changed_payments: list[str] = field(default_factory=list)


def allocation_changes(
    stored: Mapping[AllocationKey, AllocationResult],
    fresh: Mapping[AllocationKey, AllocationResult],
    value_dates: Mapping[str, date],
    business_date: date,
    currency: str,
) -> AllocationChanges:
    """Each allocation that differs from the stored one is superseded, with the old journal
    entry reversed and the new one posted."""
    found = AllocationChanges()
    later: dict[date, list[JournalEntry]] = defaultdict(list)
    # In replay order (value date, then arrival), then what is no longer allocated: the
    # journal is posted in the same order whatever the payments' ids (random uuids).
    gone = sorted(
        (k for k in stored if k not in fresh), key=lambda k: (value_dates.get(k[1], date.min), k)
    )
    for key in [*fresh, *gone]:
        old, new = stored.get(key), fresh.get(key)
        if old == new:
            continue
        # A payment's re-allocation is never dated before the payment's value date: a
        # statement shows the payment, and every correction of it, on or after that day.
        on = max(business_date, value_dates[key[1]]) if key[0] == PAYMENT else business_date
        dated = found.entries if on == business_date else later[on]
        if old is not None and (entry := _reverse(key, old, currency)) is not None:
            dated.append(entry)
        if new is not None and (entry := _post(key, new, currency)) is not None:
            dated.append(entry)
        found.changes[key] = new
        if key[0] == PAYMENT and new is not None:
            found.changed_payments.append(key[1])
    found.later = dict(later)
    return found


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


def settle_position(
    loan: LoanBalance,
    instalments: Sequence[InstalmentT],
    outstanding: Iterable[InstalmentDue],
    credit: int,
    business_date: date,
) -> tuple[list[InstalmentT], bool]:
    """Carry the new position into the loan and its instalments: the instalments settled
    by it, and whether it settled the loan."""
    position = {due.seq: due for due in outstanding}
    settled: list[InstalmentT] = []
    for instalment in instalments:
        was_open = instalment.owed > 0
        instalment.outstanding = {c: position[instalment.seq].owes(c) for c in LedgerComponent}
        if was_open and instalment.owed == 0:
            instalment.settled_on = business_date
            settled.append(instalment)
        elif instalment.owed > 0:
            instalment.settled_on = None
    loan.credit_balance = credit
    loan_settled = False
    if all(i.owed == 0 for i in instalments):
        if loan.status != "settled":
            loan.status, loan.settled_on = "settled", business_date
            loan_settled = True
    else:
        loan.status, loan.settled_on = "active", None
    return settled, loan_settled
