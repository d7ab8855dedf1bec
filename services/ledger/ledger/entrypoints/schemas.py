"""Request bodies and documented response shapes of the ledger's REST API, and the mapping
of the commands' results to response bodies.

The response models document what the views already return (they are not used to
serialise): a test validates real responses against them and dumps them back unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.domain import (
    MAX_REMINDER_DAYS_BEFORE,
    MAX_REMINDERS,
    AllocationOrder,
    AllocationStrategy,
    DayCount,
    Frequency,
    LedgerComponent,
    LoanProduct,
    Rounding,
    ScheduleType,
)
from lendkit.contracts.ledger import ProductPublished
from lendkit.contracts.money import AllocationLine, InstalmentBalance, PositiveMinor
from lendkit.contracts.policies import (
    NotificationPolicySpec,
    OverduePolicySpec,
    RestructurePolicySpec,
)
from lendkit.openapi import BusinessDate, FreeText
from lendkit.pagination import Page

if TYPE_CHECKING:
    from ledger.service_layer.close_of_business import CloseOfBusinessResult
    from ledger.service_layer.commands import PaymentRecorded, PaymentReversal

#: The largest amount a request may carry (10^13 major units).
MAX_MINOR = 10**15

Id = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
ReminderDays = Annotated[StrictInt, Field(ge=0, le=MAX_REMINDER_DAYS_BEFORE)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductIn(Body):
    code: str = Id
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    annual_rate: Decimal = Field(ge=0, le=1)
    term: int = Field(ge=1, le=600)
    frequency: Frequency = Frequency.MONTHLY
    schedule_type: ScheduleType = ScheduleType.ANNUITY
    day_count: DayCount = Field(
        default=DayCount.ACT_365,
        description="How a broken first period and weekly periods count days (docs/schedules.md)",
    )
    rounding: Rounding = Rounding.HALF_EVEN
    allocation_strategy: AllocationStrategy = AllocationStrategy.OLDEST_FIRST_VERTICAL
    allocation_components: list[LedgerComponent] = Field(
        default_factory=lambda: list(AllocationOrder().components)
    )
    reminder_days_before: list[ReminderDays] = Field(
        default_factory=lambda: [3, 1],
        max_length=MAX_REMINDERS,
        description="days before each due date a reminder is sent (0 = on the due date)",
    )
    overdue_policy: OverduePolicySpec = Field(
        default_factory=OverduePolicySpec,
        description="the overdue service's settings; unknown keys and float rates are refused",
    )
    notification_policy: NotificationPolicySpec = Field(
        default_factory=NotificationPolicySpec, description="the notifier's contact policy"
    )
    restructure_policy: RestructurePolicySpec = Field(
        default_factory=RestructurePolicySpec,
        description="the restructure service's eligibility and offer settings",
    )

    def to_domain(self) -> LoanProduct:
        return LoanProduct(
            code=self.code,
            currency=self.currency,
            annual_rate=self.annual_rate,
            term=self.term,
            frequency=self.frequency,
            schedule_type=self.schedule_type,
            day_count=self.day_count,
            rounding=self.rounding,
            allocation_order=AllocationOrder(
                self.allocation_strategy, tuple(self.allocation_components)
            ),
            reminder_days_before=tuple(self.reminder_days_before),
            # stored and published in full (defaults written out): a product's terms never
            # change when a default does
            overdue_policy=self.overdue_policy.model_dump(mode="json"),
            notification_policy=self.notification_policy.model_dump(mode="json"),
            restructure_policy=self.restructure_policy.model_dump(mode="json"),
        )


class LoanIn(Body):
    loan_id: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    borrower_id: str = Id
    product_code: str = Id
    principal_minor: PositiveMinor = Field(le=MAX_MINOR)
    disbursed_on: BusinessDate
    first_due_date: BusinessDate | None = Field(
        default=None,
        description=(
            "Default: one period after disbursement. Any other date makes the first period"
            " broken: its interest is its days under the product's day count"
        ),
    )
    timezone: FreeText = Field(default="Asia/Shanghai", min_length=1, max_length=64)


class PaymentIn(Body):
    external_reference: FreeText = Field(min_length=1, max_length=200)
    amount_minor: PositiveMinor = Field(le=MAX_MINOR)
    value_date: BusinessDate = Field(
        description="the day the money moved: at most today on the business clock in the "
        "loan's timezone, not before the last closed business day unless back_dated"
    )
    back_dated: bool = Field(
        default=False,
        description="ops/admin only: the value date may be before the last closed business "
        "day (allocations of closed days are re-run)",
    )


#: The most payments one ``POST /payments/batch`` carries (a bank settlement file is sent
#: in batches of at most this many; the body limit, ``http_max_body_bytes``, allows them).
MAX_BATCH_PAYMENTS = 500


class BatchPaymentIn(Body):
    """One payment of a batch: the single POST's body, its loan and its own key."""

    loan_id: str = Id
    idempotency_key: str = Field(
        min_length=1,
        max_length=200,
        description="this payment's own Idempotency-Key, as it would send to "
        "POST /loans/{loan_id}/payments: the same key and payment there (or in another "
        "batch) answers the stored result",
    )
    external_reference: FreeText = Field(min_length=1, max_length=200)
    amount_minor: PositiveMinor = Field(le=MAX_MINOR)
    value_date: BusinessDate = Field(
        description="as for a single payment; never back-dated before the last closed day"
    )

    def single(self) -> PaymentIn:
        """The single POST's body for this payment (its key's fingerprint)."""
        return PaymentIn(
            external_reference=self.external_reference,
            amount_minor=self.amount_minor,
            value_date=self.value_date,
        )


class PaymentBatchIn(Body):
    payments: list[BatchPaymentIn] = Field(min_length=1, max_length=MAX_BATCH_PAYMENTS)


class ReversalIn(Body):
    reason: FreeText = Field(min_length=1, max_length=500)
    business_date: BusinessDate | None = Field(
        default=None, description="default: today on the business clock; never after it"
    )


class CloseOfBusinessIn(Body):
    business_date: BusinessDate


# Responses ---------------------------------------------------------------------------------


class Out(BaseModel):
    """A documented response. Unknown fields are refused, so documentation cannot drift."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LoanSummary(Out):
    loan_id: str
    borrower_id: str
    product_code: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    principal_minor: int
    annual_rate: str = Field(description="decimal annual rate, e.g. 0.18")
    disbursed_on: date
    timezone: str
    status: str = Field(description="active or settled")
    settled_on: date | None
    schedule_version: int


#: ``GET /loans``: ``{"items": [...], "next_cursor": ...}`` (``lendkit.pagination``).
LoanPage = Page[LoanSummary]


class ComponentAmounts(Out):
    penalty_minor: int
    fee_minor: int
    interest_minor: int
    principal_minor: int


class Balances(ComponentAmounts):
    credit_minor: int = Field(description="over-payment held as credit")


class ScheduleItem(Out):
    seq: int
    due_date: date
    principal_minor: int
    interest_minor: int
    outstanding: ComponentAmounts
    settled_on: date | None


class LoanDetail(LoanSummary):
    balances: Balances
    schedule: list[ScheduleItem]


class OwedInstalment(Out):
    seq: int
    due_date: date
    days_overdue: int
    total_minor: int
    amounts: ComponentAmounts
    reason: str


class Owed(Out):
    loan_id: str
    as_of: date
    settling: bool = Field(
        description="the last closed business day's penalty may still be added (the loan "
        "was in arrears on it and the overdue service's penalty has not arrived yet): "
        "ask again before paying"
    )
    pending_penalty_day: date | None = Field(
        description="the closed day whose penalty is awaited, while settling"
    )
    currency: str
    total_minor: int
    by_component: ComponentAmounts
    not_yet_due_minor: int
    credit_minor: int
    summary: str
    instalments: list[OwedInstalment]


class Allocation(Out):
    lines: list[AllocationLine]
    credit_minor: int


class PaymentOut(Out):
    payment_id: str
    loan_id: str
    external_reference: str
    amount_minor: int
    currency: str
    value_date: date
    received_at: datetime
    reversed: bool
    allocation: Allocation
    credit_balance_minor: int
    balances: list[InstalmentBalance]


class ItemProblem(Out):
    """A refused payment's problem document (as the single POST would answer it)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


class PaymentResult(Out):
    index: int = Field(description="the payment's position in the request")
    loan_id: str
    idempotency_key: str
    status: int = Field(description="201 booked, or the refusal's status (404, 409, 422)")
    replayed: bool = Field(description="answered from the stored result of this key")
    payment: PaymentOut | None = None
    problem: ItemProblem | None = None


class PaymentBatchOut(Out):
    accepted: int
    refused: int
    results: list[PaymentResult]


class PaymentItem(Out):
    payment_id: str
    external_reference: str
    amount_minor: int
    value_date: date
    received_at: datetime
    reversed: bool
    allocation: Allocation | None


class PaymentList(Out):
    items: list[PaymentItem]


class ReversalOut(Out):
    payment_id: str
    loan_id: str
    reversed: bool
    reason: str
    credit_balance_minor: int
    balances: list[InstalmentBalance]


class StatementAmounts(Balances):
    total_minor: int


class StatementMovement(StatementAmounts):
    on: date = Field(alias="date", description="the journal entry's business date")
    memo: str
    reference: str | None


class Statement(Out):
    loan_id: str
    currency: str
    from_: date = Field(alias="from")
    to: date
    opening: StatementAmounts
    movements: list[StatementMovement]
    closing: StatementAmounts


class JournalLine(Out):
    account: str
    debit_minor: int
    credit_minor: int


class JournalEntry(Out):
    entry_id: str
    business_date: date
    memo: str
    currency: str
    lines: list[JournalLine]


class Journal(Out):
    items: list[JournalEntry]


class Mismatch(Out):
    loan_id: str
    balance: str
    journal_minor: int
    tables_minor: int


class Reconciliation(Out):
    ok: bool
    loans: int
    debits_minor: int
    credits_minor: int
    mismatched_loans: int = Field(description="Loans with any mismatch (all counted)")
    mismatches: list[Mismatch] = Field(
        description="The mismatches of the first 1,000 mismatching loans, by loan id"
    )


class CloseOfBusinessOut(Out):
    business_date: date
    already_closed: bool
    caught_up: list[date] = Field(
        description="Earlier unclosed days closed first by this run, oldest first"
    )
    upcoming: int
    due: int
    interest_recognised: int


# Results of the commands as response bodies ------------------------------------------------


def payment_body(recorded: PaymentRecorded) -> dict[str, Any]:
    """``PaymentOut`` of a recorded payment (stored by the Idempotency-Key as it is)."""
    payment, allocated = recorded.payment, recorded.allocated
    return {
        "payment_id": payment.payment_id,
        "loan_id": allocated.loan_id,
        "external_reference": payment.external_reference,
        "amount_minor": payment.amount,
        "currency": allocated.currency,
        "value_date": payment.value_date.isoformat(),
        "received_at": payment.received_at.isoformat(),
        "reversed": False,
        "allocation": {
            "lines": [line.model_dump(mode="json") for line in allocated.lines],
            "credit_minor": allocated.credit_minor,
        },
        "credit_balance_minor": allocated.credit_balance_minor,
        "balances": [b.model_dump(mode="json") for b in allocated.balances],
    }


def reversal_body(reversal: PaymentReversal) -> dict[str, Any]:
    """``ReversalOut`` of a reversed payment."""
    return {
        "payment_id": reversal.payment_id,
        "loan_id": reversal.loan_id,
        "reversed": True,
        "reason": reversal.reason,
        "credit_balance_minor": reversal.credit_balance,
        "balances": [b.model_dump(mode="json") for b in reversal.balances],
    }


def close_of_business_body(result: CloseOfBusinessResult) -> dict[str, Any]:
    """``CloseOfBusinessOut`` of a close of business."""
    return {
        "business_date": result.business_date.isoformat(),
        "already_closed": result.already_closed,
        "caught_up": [day.isoformat() for day in result.caught_up],
        "upcoming": result.upcoming,
        "due": result.due,
        "interest_recognised": result.interest_recognised,
    }


class BusinessClockOut(Out):
    """Where the business clock stands: what "today" is for a close of business, a
    payment's value date and ``/owed`` (each loan also has its own timezone)."""

    business_timezone: str = Field(
        description="IANA zone whose date closes (LEDGER_BUSINESS_TIMEZONE)"
    )
    today: date = Field(
        description="today in the business timezone: the wall-clock date, or on a simulated "
        "clock the day after the last closed day"
    )
    simulated: bool = Field(
        description="true when the platform runs on a simulated clock (simulations and "
        "tests): any day may be closed, and today follows the closes"
    )
    first_closed_day: date | None = Field(
        description="the first business day ever closed; no earlier day can be closed"
    )
    last_closed_day: date | None = Field(description="the latest closed business day")
    last_closed_at: datetime | None = Field(description="when that day was closed")
    close_running: bool = Field(description="a close of business is running right now")
    max_catch_up_days: int = Field(
        description="at most this many unclosed days are closed by one close of business"
    )


class ProductOut(ProductPublished):
    """The product as published on ``ledger.products``, its policies written out in full
    with every default applied (the event carries the same JSON; its consumers read each
    block with these schemas)."""

    # the event's free-form block, narrowed to the schema every consumer reads it with
    overdue_policy: OverduePolicySpec = Field(  # type: ignore[assignment]
        description="the overdue service's settings: grace days, penalty rate and base, "
        "caps, buckets, escalation stages, credit-report notice"
    )
    # the event's free-form block, narrowed to the schema every consumer reads it with
    notification_policy: NotificationPolicySpec = Field(  # type: ignore[assignment]
        description="the notifier's contact policy: channels, quiet hours, languages"
    )
    # the event's free-form block, narrowed to the schema every consumer reads it with
    restructure_policy: RestructurePolicySpec = Field(  # type: ignore[assignment]
        description="the restructure service's eligibility and offers"
    )
