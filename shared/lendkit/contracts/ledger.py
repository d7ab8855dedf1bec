"""Events the ledger publishes. Loan events are keyed by loan id on ``ledger.loans``.

Every event that changes what is owed carries ``balances``: each open instalment's
outstanding amounts after the change, so a consumer's read model can simply replace.
Those events (and ``LoanDisbursed``) also carry ``loan_version``: increasing with every
such event of the loan, in the order they are published, so a consumer ignores one older
than what it already applied (a replayed dead letter never rolls its state back).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from lendkit.contracts.money import (
    AllocationLine,
    Component,
    Currency,
    InstalmentBalance,
    InstalmentTerms,
    MinorUnits,
    NonNegativeMinor,
    Rate,
    Shape,
)
from lendkit.contracts.topics import LEDGER_LOANS, LEDGER_PRODUCTS
from lendkit.events.catalogue import EventPayload, event_type

LoanVersion = Annotated[
    int | None,
    Field(
        ge=1,
        description="Increases with every balance-carrying event of the loan, in publication "
        "order (gaps allowed). A consumer ignores an event older than the last it applied. "
        "Absent from events published before it existed.",
    ),
]


@event_type(
    "ledger.product.published.v1",
    topic=LEDGER_PRODUCTS,
    key_field="code",
    description="A loan product was created or changed, with the policy settings other services use.",
)
class ProductPublished(EventPayload):
    code: str
    currency: Currency
    annual_rate: Rate
    day_count: str
    term: int = Field(ge=1)
    frequency: str
    schedule_type: str
    rounding: str
    allocation_strategy: str
    allocation_components: list[Component]
    reminder_days_before: list[int]
    overdue_policy: dict[str, Any] = Field(
        default_factory=dict,
        description="the overdue service's settings, written out in full; schema: "
        "OverduePolicySpec in lendkit.contracts.policies (each consumer validates its block)",
    )
    notification_policy: dict[str, Any] = Field(
        default_factory=dict,
        description="the notifier's contact policy; schema: NotificationPolicySpec",
    )
    restructure_policy: dict[str, Any] = Field(
        default_factory=dict,
        description="the restructure service's eligibility and offers; schema: "
        "RestructurePolicySpec",
    )


@event_type(
    "ledger.loan.disbursed.v1",
    topic=LEDGER_LOANS,
    description="A loan was disbursed; carries its product terms and first schedule.",
)
class LoanDisbursed(EventPayload):
    loan_id: str
    borrower_id: str
    product_code: str
    currency: Currency
    principal_minor: NonNegativeMinor
    annual_rate: Rate
    disbursed_on: date
    timezone: str
    schedule_version: int = 1
    instalments: list[InstalmentTerms]
    loan_version: LoanVersion = None


@event_type(
    "ledger.repayment.upcoming.v1",
    topic=LEDGER_LOANS,
    description="An instalment falls due in a few days (reminder, T-3 and T-1 by default).",
)
class RepaymentUpcoming(EventPayload):
    loan_id: str
    borrower_id: str
    seq: int
    due_date: date
    days_before: int
    amount_due_minor: NonNegativeMinor
    currency: Currency
    business_date: date


@event_type(
    "ledger.repayment.due.v1",
    topic=LEDGER_LOANS,
    description="An instalment is due on this business date, with what is still owed on it.",
)
class RepaymentDue(EventPayload):
    loan_id: str
    borrower_id: str
    seq: int
    due_date: date
    amount_due_minor: NonNegativeMinor
    currency: Currency
    balance: InstalmentBalance
    business_date: date


@event_type(
    "ledger.payment.received.v1",
    topic=LEDGER_LOANS,
    description="A payment was received (before allocation).",
)
class PaymentReceived(EventPayload):
    loan_id: str
    payment_id: str
    external_reference: str
    amount_minor: NonNegativeMinor
    currency: Currency
    value_date: date
    received_at: datetime


@event_type(
    "ledger.payment.allocated.v1",
    topic=LEDGER_LOANS,
    description="How a payment was applied (waterfall lines, credit kept), with balances after. "
    "A back-dated payment re-runs allocation and publishes corrected allocations for the "
    "payments it affected (reallocation = true).",
)
class PaymentAllocated(EventPayload):
    loan_id: str
    payment_id: str
    value_date: date
    amount_minor: NonNegativeMinor
    currency: Currency
    lines: list[AllocationLine]
    credit_minor: NonNegativeMinor
    reallocation: bool = False
    credit_balance_minor: NonNegativeMinor
    balances: list[InstalmentBalance]
    loan_version: LoanVersion = None


@event_type(
    "ledger.payment.reversed.v1",
    topic=LEDGER_LOANS,
    description="A payment was reversed (chargeback); what it paid is owed again.",
)
class PaymentReversed(EventPayload):
    loan_id: str
    payment_id: str
    reason: str
    currency: Currency
    credit_balance_minor: NonNegativeMinor
    balances: list[InstalmentBalance]
    loan_version: LoanVersion = None


@event_type(
    "ledger.instalment.settled.v1",
    topic=LEDGER_LOANS,
    description="An instalment is fully paid.",
)
class InstalmentSettled(EventPayload):
    loan_id: str
    seq: int
    due_date: date
    settled_on: date


@event_type(
    "ledger.loan.settled.v1",
    topic=LEDGER_LOANS,
    description="Nothing is owed on the loan any more.",
)
class LoanSettled(EventPayload):
    loan_id: str
    settled_on: date
    credit_balance_minor: NonNegativeMinor


@event_type(
    "ledger.charge.booked.v1",
    topic=LEDGER_LOANS,
    description="A penalty or fee was booked against an instalment (exactly once per source event). "
    "A waiver is booked as a negative amount.",
)
class ChargeBooked(EventPayload):
    loan_id: str
    charge_id: str
    source_event_id: str
    seq: int
    component: Component
    amount_minor: MinorUnits
    currency: Currency
    business_date: date
    balances: list[InstalmentBalance]
    loan_version: LoanVersion = None


@event_type(
    "ledger.schedule.rewritten.v1",
    topic=LEDGER_LOANS,
    description="The remaining schedule was rewritten (restructuring); all versions are kept.",
)
class ScheduleRewritten(EventPayload):
    loan_id: str
    schedule_version: int
    plan_id: str
    reason: str
    effective_date: date
    annual_rate: Rate
    instalments: list[InstalmentTerms]
    balances: list[InstalmentBalance]
    loan_version: LoanVersion = None


BookedKind = Literal["interest", "penalty", "fee", "deferred_interest"]


class BookedAmount(Shape):
    """An amount of one kind a plan booking capitalised, carried, waived or wrote off."""

    kind: BookedKind
    amount_minor: NonNegativeMinor


@event_type(
    "ledger.plan.booked.v1",
    topic=LEDGER_LOANS,
    description="The ledger booked an accepted restructuring plan (restructure.plan.accepted.v2) "
    "exactly as quoted: the schedule rewritten (then also ledger.schedule.rewritten), the "
    "capitalised, carried and waived amounts journalled. A discounted settlement is held "
    "(settlement_amount_minor by settlement_deadline) until ledger.settlement.completed or "
    "ledger.settlement.lapsed.",
)
class PlanBooked(EventPayload):
    loan_id: str
    plan_id: str
    plan_type: str
    booked_on: date
    schedule_version: int
    rewrote_schedule: bool
    capitalised: list[BookedAmount] = Field(default_factory=list)
    carried_to_first: list[BookedAmount] = Field(default_factory=list)
    waived: list[BookedAmount] = Field(default_factory=list)
    settlement_amount_minor: NonNegativeMinor | None = None
    settlement_deadline: date | None = None


@event_type(
    "ledger.settlement.completed.v1",
    topic=LEDGER_LOANS,
    description="A discounted settlement was paid in full by its deadline: the remainder was "
    "written off (penalty, fees, interest waived, principal written off last) and the loan "
    "closed.",
)
class SettlementCompleted(EventPayload):
    loan_id: str
    plan_id: str
    completed_on: date
    paid_minor: NonNegativeMinor
    waived: list[BookedAmount] = Field(default_factory=list)
    written_off_principal_minor: NonNegativeMinor = 0
    schedule_version: int


@event_type(
    "ledger.settlement.lapsed.v1",
    topic=LEDGER_LOANS,
    description="A discounted settlement's deadline passed without the amount paid: the offer "
    "lapsed and nothing was written off (the loan stays on its terms).",
)
class SettlementLapsed(EventPayload):
    loan_id: str
    plan_id: str
    deadline: date
    lapsed_on: date
    paid_minor: NonNegativeMinor
    amount_minor: NonNegativeMinor


@event_type(
    "ledger.settlement.reversed.v1",
    topic=LEDGER_LOANS,
    description="A payment that completed a discounted settlement was reversed and what stands "
    "paid no longer reaches the amount: the settlement is void. The write-off and the waivers "
    "are reinstated and the loan is back on its terms before the settlement (also "
    "ledger.schedule.rewritten, reason settlement_reversed), owing them less the payments that "
    "stand. The offer is not completed again; a new settlement needs a new plan.",
)
class SettlementReversed(EventPayload):
    loan_id: str
    plan_id: str
    payment_id: str
    reversed_on: date
    #: What the payments still standing paid in the settlement's window.
    paid_minor: NonNegativeMinor
    amount_minor: NonNegativeMinor
    #: The restored schedule's version.
    schedule_version: int


@event_type(
    "ledger.business_day.closed.v1",
    topic=LEDGER_LOANS,
    key_field=None,
    description="Close of business for a date finished. Written to every partition after all of "
    "that day's events, so a consumer that has seen it on all partitions has every event of the day.",
)
class BusinessDayClosed(EventPayload):
    business_date: date
    partition: int
    partitions: int
