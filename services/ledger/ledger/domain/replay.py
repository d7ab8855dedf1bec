"""Recomputing every payment's allocation from scratch, in value-date order.

A payment that arrives late but carries an earlier value date (a bank file, a
corrected channel report) changes what every later payment paid. Rather than
patching, the ledger replays: start from the contractual amounts, then walk the
payments in value-date order (ties: receipt order, then payment id) and allocate
each with :func:`~ledger.domain.allocation.allocate_payment`, using the value
date to tell due instalments from not-yet-due ones. Reversed payments are left
out. The caller compares the new allocations with the stored ones and posts the
differences.

Charges (penalties, fees) join the debt on their ``booked_on`` date:

* a charge counts toward a payment only if ``booked_on <= payment.value_date``,
  so a penalty booked after a payment's value date is never paid by it;
* credit held at that point (over-payment, which exists only once everything
  else was paid) is applied to each newly booked charge at replay time, in
  ``booked_on`` order; these applications are reported as
  :class:`CreditApplication` records so they can be journalled
  (``credit_applied_entry``).

Pass charges net of waivers: a waived charge is omitted (or its amount reduced).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ledger.domain.allocation import (
    AllocationOrder,
    AllocationResult,
    InstalmentDue,
    allocate_payment,
    apply_allocation,
)
from ledger.domain.component import LedgerComponent
from ledger.domain.errors import InvalidAllocation


@dataclass(frozen=True)
class Payment:
    """Money received for a loan. ``receipt_order`` breaks value-date ties."""

    payment_id: str
    value_date: date
    amount: int
    receipt_order: int = 0
    reversed: bool = False

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise InvalidAllocation(f"payment {self.payment_id}: amount must be positive")


@dataclass(frozen=True)
class Charge:
    """A penalty or fee (or other component) added to instalment ``seq``."""

    seq: int
    component: LedgerComponent
    amount: int
    booked_on: date
    charge_id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.component, LedgerComponent):
            raise InvalidAllocation(f"charge {self.charge_id}: unknown component")
        if self.amount <= 0:
            raise InvalidAllocation(f"charge {self.charge_id}: amount must be positive")


@dataclass(frozen=True)
class PaymentAllocation:
    """One payment and where its money went in the replay."""

    payment: Payment
    result: AllocationResult


@dataclass(frozen=True)
class CreditApplication:
    """Held credit that paid a charge when the charge was booked."""

    charge: Charge
    result: AllocationResult  # ``result.credit`` is the credit still held afterwards

    @property
    def applied(self) -> int:
        """Credit consumed by this application."""
        return self.result.allocated


@dataclass(frozen=True)
class ReplayOutcome:
    """Every allocation the replay produced, and the resulting position."""

    payments: tuple[PaymentAllocation, ...]
    credit_applications: tuple[CreditApplication, ...]
    outstanding: tuple[InstalmentDue, ...]
    credit: int

    def for_payment(self, payment_id: str) -> AllocationResult:
        """The replayed allocation of one (non-reversed) payment."""
        for allocation in self.payments:
            if allocation.payment.payment_id == payment_id:
                return allocation.result
        raise KeyError(payment_id)


def replay_allocations(
    scheduled: Iterable[InstalmentDue],
    payments: Iterable[Payment],
    charges: Iterable[Charge] = (),
    order: AllocationOrder | None = None,
) -> ReplayOutcome:
    """Re-run allocation for all ``payments`` from the contractual position.

    ``scheduled`` holds each instalment's original amounts (principal, interest,
    any fee fixed at origination), before any payment or later charge.
    """
    outstanding = tuple(scheduled)
    known_seqs = {i.seq for i in outstanding}
    payment_list = list(payments)
    ids = [p.payment_id for p in payment_list]
    if len(set(ids)) != len(ids):
        raise InvalidAllocation("duplicate payment ids in replay")
    live = sorted(
        (p for p in payment_list if not p.reversed),
        key=lambda p: (p.value_date, p.receipt_order, p.payment_id),
    )
    pending = sorted(enumerate(charges), key=lambda ic: (ic[1].booked_on, ic[0]))
    for _, charge in pending:
        if charge.seq not in known_seqs:
            raise InvalidAllocation(f"charge for unknown instalment {charge.seq}")
    pending_charges = [c for _, c in pending]

    credit = 0
    applications: list[CreditApplication] = []
    allocations: list[PaymentAllocation] = []

    def book(charge: Charge) -> None:
        nonlocal outstanding, credit
        outstanding = tuple(
            InstalmentDue(
                i.seq,
                i.due_date,
                {**i.outstanding, charge.component: i.owes(charge.component) + charge.amount},
            )
            if i.seq == charge.seq
            else i
            for i in outstanding
        )
        if credit > 0:
            applied = allocate_payment(credit, outstanding, order, charge.booked_on)
            outstanding = apply_allocation(outstanding, applied.lines)
            credit = applied.credit
            applications.append(CreditApplication(charge, applied))

    for payment in live:
        while pending_charges and pending_charges[0].booked_on <= payment.value_date:
            book(pending_charges.pop(0))
        result = allocate_payment(payment.amount, outstanding, order, payment.value_date)
        outstanding = apply_allocation(outstanding, result.lines)
        credit += result.credit
        allocations.append(PaymentAllocation(payment, result))
    for charge in pending_charges:
        book(charge)

    return ReplayOutcome(
        payments=tuple(allocations),
        credit_applications=tuple(applications),
        outstanding=outstanding,
        credit=credit,
    )
