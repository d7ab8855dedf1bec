"""Plain records the repository loads and saves (rows of the ledger's tables, typed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.domain import (
    AllocationResult,
    Instalment,
    InstalmentDue,
    JournalEntry,
    LedgerComponent,
    LoanProduct,
)
from ledger.domain.resettlement import AllocationKey

__all__ = [
    "AllocationKey",
    "ChargeRecord",
    "InstalmentRecord",
    "LoanRecord",
    "LoanState",
    "PaymentRecord",
    "PlanBookingRecord",
    "SettlementOffer",
]


@dataclass
class LoanRecord:
    loan_id: str
    borrower_id: str
    product_code: str
    currency: str
    principal: int
    annual_rate: Decimal
    disbursed_on: date
    timezone: str
    status: str
    schedule_version: int
    credit_balance: int
    settled_on: date | None = None


@dataclass
class InstalmentRecord:
    seq: int
    due_date: date
    principal: int
    interest: int
    outstanding: dict[LedgerComponent, int]
    interest_recognised: bool = False
    settled_on: date | None = None

    @classmethod
    def new(cls, seq: int, due_date: date, principal: int, interest: int) -> InstalmentRecord:
        """A new instalment of a schedule: owes its contract amounts, no charges yet."""
        return cls(
            seq=seq,
            due_date=due_date,
            principal=principal,
            interest=interest,
            outstanding={
                LedgerComponent.PRINCIPAL: principal,
                LedgerComponent.INTEREST: interest,
                LedgerComponent.PENALTY: 0,
                LedgerComponent.FEE: 0,
            },
        )

    @property
    def owed(self) -> int:
        return sum(self.outstanding.values())

    def contractual(self) -> InstalmentDue:
        """The instalment as the replay's starting point: contract amounts, nothing paid."""
        return Instalment(self.seq, self.due_date, self.principal, self.interest).as_due()


@dataclass(frozen=True)
class PaymentRecord:
    payment_id: str
    external_reference: str
    amount: int
    value_date: date
    received_at: datetime
    receipt_order: int
    reversed: bool


@dataclass(frozen=True)
class ChargeRecord:
    charge_id: str
    seq: int
    component: LedgerComponent
    amount: int  # negative for a waiver or a transfer out
    kind: str
    business_date: date


@dataclass
class LoanState:
    """A loan with everything a money movement needs, loaded under the loan's row lock.

    ``payments``, ``charges`` and ``allocations`` (the history a replay needs) are only
    filled when ``history_loaded``; a payment dated after all of them does without.
    ``latest_payment_date`` (non-reversed payments) and ``latest_charge_date`` (any charge
    row, waivers and transfers included) are always loaded.
    """

    loan: LoanRecord
    product: LoanProduct
    instalments: list[InstalmentRecord]
    payments: list[PaymentRecord] = field(default_factory=list)
    charges: list[ChargeRecord] = field(default_factory=list)
    allocations: dict[AllocationKey, AllocationResult] = field(default_factory=dict)
    history_loaded: bool = True
    latest_payment_date: date | None = None
    latest_charge_date: date | None = None
    reference_taken: bool = False

    def instalment(self, seq: int) -> InstalmentRecord | None:
        return next((i for i in self.instalments if i.seq == seq), None)


@dataclass(frozen=True)
class SettlementOffer:
    """A discounted settlement the ledger holds: ``amount`` paid from ``accepted_on`` to
    ``deadline`` settles the loan; ``plan`` (the accepted plan as received) is booked then."""

    plan_id: str
    loan_id: str
    amount: int
    deadline: date
    accepted_on: date
    plan: Mapping[str, Any] = field(default_factory=dict)
    status: str = "pending"
    resolved_on: date | None = None


@dataclass(frozen=True)
class PlanBookingRecord:
    """What a plan's booking did (its first schedule version ``version``, booked from event
    ``reference`` on ``effective_date``) and the version in force before it (``original``,
    at ``original_rate``): what restoring the original terms reverses."""

    plan_id: str
    version: int
    effective_date: date
    reference: str | None
    original_version: int
    original: list[InstalmentRecord]
    original_rate: Decimal
    charges: list[ChargeRecord]
    entries: list[JournalEntry]
    #: The plan's latest schedule version (a settlement's closing version comes after
    #: its booking's).
    last_version: int = 0
