"""The ledger's API use cases: create a product, create and disburse a loan, record a
payment, reverse a payment. Each returns a dataclass; ``entrypoints/api.py`` maps it to the
response.

A payment's value date is a business date of its loan: never after today on the business
clock in the loan's timezone, never before the disbursement, and not before the last closed
business day unless it is explicitly back-dated (``back_dated``; the API allows that to ops
and admin only): a back-dated payment re-runs allocations of days already closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ledger.adapters.contract_shapes import contract_component, open_balances, terms
from ledger.adapters.records import InstalmentRecord, LoanRecord, LoanState, PaymentRecord
from ledger.domain import LoanProduct, build_schedule, disbursement_entry
from ledger.domain.clock import ClosedDay, LedgerClock, check_reversal_date, check_value_date
from ledger.domain.resettlement import allocates_directly
from ledger.service_layer.restructuring import review_settlement, void_reversed_settlement
from ledger.service_layer.settlement import allocated_event, consequences, resettle, settle_latest
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import (
    LoanDisbursed,
    PaymentAllocated,
    PaymentReceived,
    PaymentReversed,
    ProductPublished,
)
from lendkit.contracts.money import InstalmentBalance
from lendkit.errors import Conflict, NotFound, ServiceError
from lendkit.events import new_event


@dataclass(frozen=True)
class ProductCreated:
    product: LoanProduct
    published: ProductPublished


@dataclass(frozen=True)
class LoanCreated:
    loan: LoanRecord
    disbursed: LoanDisbursed


@dataclass(frozen=True)
class PaymentRecorded:
    payment: PaymentRecord
    allocated: PaymentAllocated


@dataclass(frozen=True)
class PaymentReversal:
    payment_id: str
    loan_id: str
    reason: str
    business_date: date
    credit_balance: int
    balances: list[InstalmentBalance]


def product_published(product: LoanProduct) -> ProductPublished:
    return ProductPublished(
        code=product.code,
        currency=product.currency,
        annual_rate=str(product.annual_rate),
        day_count=product.day_count.value,
        term=product.term,
        frequency=product.frequency.value,
        schedule_type=product.schedule_type.value,
        rounding=product.rounding.value,
        allocation_strategy=product.allocation_order.strategy.value,
        allocation_components=[contract_component(c) for c in product.allocation_order.components],
        reminder_days_before=list(product.reminder_days_before),
        overdue_policy=dict(product.overdue_policy),
        notification_policy=dict(product.notification_policy),
        restructure_policy=dict(product.restructure_policy),
    )


async def create_product(uow: LedgerUnitOfWork, product: LoanProduct) -> ProductCreated:
    """Store a new product and publish it for the other services' read models."""
    if not await uow.products.add(product):
        raise Conflict(f"product {product.code} exists; a change of terms is a new product code")
    published = product_published(product)
    await uow.emit(new_event(published, source=uow.source))
    return ProductCreated(product, published)


async def disburse_loan(
    uow: LedgerUnitOfWork,
    *,
    loan_id: str,
    borrower_id: str,
    product_code: str,
    principal: int,
    disbursed_on: date,
    first_due_date: date | None = None,
    timezone: str = "Asia/Shanghai",
) -> LoanCreated:
    """Create the loan with its first schedule, journal the disbursement, publish it."""
    product = await uow.products.get(product_code)
    if product is None:
        raise NotFound(f"no product {product_code}")
    schedule = build_schedule(principal, product, disbursed_on, first_due_date)
    loan = LoanRecord(
        loan_id=loan_id,
        borrower_id=borrower_id,
        product_code=product.code,
        currency=product.currency,
        principal=principal,
        annual_rate=product.annual_rate,
        disbursed_on=disbursed_on,
        timezone=timezone,
        status="active",
        schedule_version=1,
        credit_balance=0,
    )
    rows = [
        InstalmentRecord.new(i.seq, i.due_date, i.principal, i.interest)
        for i in schedule.instalments
    ]
    if not await uow.loans.add_loan(loan, rows):
        raise Conflict(f"loan {loan_id} exists")
    await uow.loans.add_journal_entries(
        loan_id, [disbursement_entry(principal, loan.currency)], business_date=disbursed_on
    )
    disbursed = LoanDisbursed(
        loan_id=loan_id,
        borrower_id=borrower_id,
        product_code=product.code,
        currency=product.currency,
        principal_minor=principal,
        annual_rate=str(product.annual_rate),
        disbursed_on=disbursed_on,
        timezone=timezone,
        schedule_version=1,
        instalments=terms(rows),
    )
    await uow.emit(new_event(disbursed, source=uow.source))
    return LoanCreated(loan, disbursed)


async def record_payment(
    uow: LedgerUnitOfWork,
    *,
    loan_id: str,
    reference: str,
    amount: int,
    value_date: date,
    clock: LedgerClock,
    back_dated: bool = False,
) -> PaymentRecorded:
    """Record a payment and allocate it, publish what changed.

    A payment dated on or after everything else is allocated directly against the current
    position; a back-dated one re-runs the allocation from its value date.
    """
    state = await uow.loans.load(loan_id, history=False, reference=reference)
    if state is None:
        raise NotFound(f"no loan {loan_id}")
    closed = await uow.business_days.last_closed()
    _check_payment(state, closed, reference, value_date, clock, back_dated=back_dated)
    return await _book_payment(uow, state, reference, amount, value_date)


@dataclass(frozen=True)
class PaymentOrder:
    """One payment of a batch (:func:`record_payments`)."""

    loan_id: str
    reference: str
    amount: int
    value_date: date


async def record_payments(
    uow: LedgerUnitOfWork, orders: Sequence[PaymentOrder], clock: LedgerClock
) -> list[PaymentRecorded | ServiceError]:
    """Record a batch of payments in one transaction, in the given order: one result per
    payment, the payment recorded or the refusal a single :func:`record_payment` would
    have raised for it (no such loan, a value date out of bounds, an external reference
    taken, by an earlier payment of the batch too). A refused payment writes nothing, so
    the others stand. Each payment is booked exactly as by :func:`record_payment` (the
    same checks, allocation and events, in the same order) against its loan's position
    after the batch's earlier payments; the loans are locked and loaded at once and the
    events written in one statement at commit. Not back-dated (see the API).
    """
    uow.defer_events()
    states = await uow.loans.load_many([o.loan_id for o in orders])
    taken = await uow.loans.references_taken((o.loan_id, o.reference) for o in orders)
    closed = await uow.business_days.last_closed()
    results: list[PaymentRecorded | ServiceError] = []
    for order in orders:
        state = states.get(order.loan_id)
        try:
            if state is None:
                raise NotFound(f"no loan {order.loan_id}")
            state.reference_taken = (order.loan_id, order.reference) in taken
            _check_payment(state, closed, order.reference, order.value_date, clock)
        except ServiceError as refused:
            results.append(refused)
            continue
        taken.add((order.loan_id, order.reference))
        results.append(
            await _book_payment(uow, state, order.reference, order.amount, order.value_date)
        )
    return results


def _check_payment(
    state: LoanState,
    closed: ClosedDay | None,
    reference: str,
    value_date: date,
    clock: LedgerClock,
    *,
    back_dated: bool = False,
) -> None:
    """The refusals of a payment, before anything is written."""
    check_value_date(
        value_date,
        disbursed_on=state.loan.disbursed_on,
        clock=clock.today(closed, ZoneInfo(state.loan.timezone)),
        back_dated=back_dated,
    )
    if state.reference_taken:
        raise Conflict(f"a payment with external reference {reference!r} exists on this loan")


async def _book_payment(
    uow: LedgerUnitOfWork, state: LoanState, reference: str, amount: int, value_date: date
) -> PaymentRecorded:
    """Write a checked payment, allocate it and emit what changed."""
    loan_id = state.loan.loan_id
    direct = allocates_directly(value_date, state.latest_payment_date, state.latest_charge_date)
    if not direct:
        # Read afresh, as a single POST does (in a batch, an earlier payment of the loan
        # may have loaded it): the stored order of the allocations is the order of the
        # reallocation events.
        state.history_loaded = False
        await uow.loans.load_history(state)
    payment = await uow.loans.add_payment(loan_id, reference, amount, value_date, datetime.now(UTC))
    if direct:
        result = await settle_latest(uow.loans, state, payment)
    else:
        state.payments.append(payment)
        result = await resettle(uow.loans, state, value_date)
    allocated = allocated_event(state, payment, result, reallocation=False)
    received = PaymentReceived(
        loan_id=loan_id,
        payment_id=payment.payment_id,
        external_reference=reference,
        amount_minor=amount,
        currency=state.loan.currency,
        value_date=value_date,
        received_at=payment.received_at,
    )
    await uow.emit_all(
        [
            new_event(received, source=uow.source),
            new_event(allocated, source=uow.source),
            *consequences(uow.source, state, result, skip=payment.payment_id),
            *await review_settlement(uow, state, value_date),
        ]
    )
    return PaymentRecorded(payment, allocated)


async def reverse_payment(
    uow: LedgerUnitOfWork,
    *,
    loan_id: str,
    payment_id: str,
    reason: str,
    business_date: date | None,
    clock: LedgerClock | None = None,
) -> PaymentReversal:
    """Chargeback: the payment no longer counts; what it paid is owed again.

    With ``clock``, ``business_date`` defaults to today on it in the loan's timezone and a
    date after that is refused (``InvalidValueDate``); without, it is required."""
    state = await uow.loans.load(loan_id)
    if state is None:
        raise NotFound(f"no loan {loan_id}")
    if clock is not None:
        closed = await uow.business_days.last_closed()
        today = clock.today(closed, ZoneInfo(state.loan.timezone)).today
        business_date = check_reversal_date(business_date, today)
    if business_date is None:
        raise ValueError("reverse_payment needs a business_date or a clock")
    payment = next((p for p in state.payments if p.payment_id == payment_id), None)
    if payment is None:
        raise NotFound(f"no payment {payment_id} on loan {loan_id}")
    if payment.reversed:
        raise Conflict(f"payment {payment_id} is already reversed")
    await uow.loans.mark_reversed(payment_id, reason)
    state.payments = [
        PaymentRecord(**{**p.__dict__, "reversed": True}) if p.payment_id == payment_id else p
        for p in state.payments
    ]
    voided = await void_reversed_settlement(uow, state, payment, business_date)
    if voided is None:
        result = await resettle(uow.loans, state, business_date)
        follow = consequences(uow.source, state, result)
    else:
        follow = voided
    reversed_event = PaymentReversed(
        loan_id=loan_id,
        payment_id=payment_id,
        reason=reason,
        currency=state.loan.currency,
        credit_balance_minor=state.loan.credit_balance,
        balances=open_balances(state.instalments),
    )
    await uow.emit_all([new_event(reversed_event, source=uow.source), *follow])
    return PaymentReversal(
        payment_id,
        loan_id,
        reason,
        business_date,
        state.loan.credit_balance,
        list(reversed_event.balances),
    )
