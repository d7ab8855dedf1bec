"""Payments: record one (with replay of back-dated value dates) and reverse one (chargeback).

A payment's value date is a business date of its loan: never after today on the business
clock in the loan's timezone, never before the disbursement, and not before the last closed
business day unless it is explicitly back-dated (``back_dated``; the API allows that to ops
and admin only): a back-dated payment re-runs allocations of days already closed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ledger.adapters.business_days import last_closed_day
from ledger.adapters.records import LoanState, PaymentRecord
from ledger.service_layer.clock import BusinessToday, LedgerClock
from ledger.service_layer.errors import Conflict, Invalid, NotFound
from ledger.service_layer.resettlement import (
    Resettlement,
    allocates_directly,
    resettle,
    settle_latest,
)
from ledger.service_layer.shapes import allocation_lines, open_balances
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import (
    InstalmentSettled,
    LoanSettled,
    PaymentAllocated,
    PaymentReceived,
    PaymentReversed,
)
from lendkit.events import CloudEvent, new_event


async def _load(uow: LedgerUnitOfWork, loan_id: str) -> LoanState:
    state = await uow.loans.load(loan_id)
    if state is None:
        raise NotFound(f"no loan {loan_id}")
    return state


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
    uow: LedgerUnitOfWork, state: LoanState, result: Resettlement, *, skip: str | None = None
) -> list[CloudEvent]:
    """Corrected allocations of the other payments, settled instalments, a settled loan."""
    by_id = {p.payment_id: p for p in state.payments}
    loan_id = state.loan.loan_id
    events = [
        new_event(allocated_event(state, by_id[pid], result, reallocation=True), source=uow.source)
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
            source=uow.source,
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
                source=uow.source,
            )
        )
    return events


def check_value_date(
    value_date: date, *, disbursed_on: date, clock: BusinessToday, back_dated: bool
) -> None:
    """Refuse a value date the business clock cannot have (``Invalid`` naming the field)."""
    if value_date > clock.today:
        raise Invalid(
            f"value_date {value_date} is after today on the business clock ({clock.today})",
            field="value_date",
        )
    if value_date < disbursed_on:
        raise Invalid(
            f"value_date {value_date} is before the disbursement ({disbursed_on})",
            field="value_date",
        )
    last_closed = clock.last_closed_date
    if last_closed is not None and value_date < last_closed and not back_dated:
        raise Invalid(
            f"value_date {value_date} is before the last closed business day "
            f"({last_closed}); only ops or admin may back-date a payment "
            "(back_dated: true)",
            field="value_date",
        )


async def record_payment(
    uow: LedgerUnitOfWork,
    *,
    loan_id: str,
    reference: str,
    amount: int,
    value_date: date,
    clock: LedgerClock,
    back_dated: bool = False,
) -> dict[str, Any]:
    """Record a payment and allocate it, publish what changed.

    A payment dated on or after everything else is allocated directly against the current
    position; a back-dated one re-runs the allocation from its value date.
    """
    state = await uow.loans.load(loan_id, history=False, reference=reference)
    if state is None:
        raise NotFound(f"no loan {loan_id}")
    check_value_date(
        value_date,
        disbursed_on=state.loan.disbursed_on,
        clock=clock.today(await last_closed_day(uow.session), ZoneInfo(state.loan.timezone)),
        back_dated=back_dated,
    )
    if state.reference_taken:
        raise Conflict(f"a payment with external reference {reference!r} exists on this loan")
    direct = allocates_directly(value_date, state.latest_payment_date, state.latest_charge_date)
    if not direct:
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
            *consequences(uow, state, result, skip=payment.payment_id),
        ]
    )
    return payment_body(payment, allocated, reversed_=False)


def payment_body(
    payment: PaymentRecord, allocated: PaymentAllocated, *, reversed_: bool
) -> dict[str, Any]:
    return {
        "payment_id": payment.payment_id,
        "loan_id": allocated.loan_id,
        "external_reference": payment.external_reference,
        "amount_minor": payment.amount,
        "currency": allocated.currency,
        "value_date": payment.value_date.isoformat(),
        "received_at": payment.received_at.isoformat(),
        "reversed": reversed_,
        "allocation": {
            "lines": [line.model_dump(mode="json") for line in allocated.lines],
            "credit_minor": allocated.credit_minor,
        },
        "credit_balance_minor": allocated.credit_balance_minor,
        "balances": [b.model_dump(mode="json") for b in allocated.balances],
    }


async def reverse_payment(
    uow: LedgerUnitOfWork, *, loan_id: str, payment_id: str, reason: str, business_date: date
) -> dict[str, Any]:
    """Chargeback: the payment no longer counts; what it paid is owed again."""
    state = await _load(uow, loan_id)
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
    result = await resettle(uow.loans, state, business_date)
    reversed_event = PaymentReversed(
        loan_id=loan_id,
        payment_id=payment_id,
        reason=reason,
        currency=state.loan.currency,
        credit_balance_minor=state.loan.credit_balance,
        balances=open_balances(state.instalments),
    )
    await uow.emit_all(
        [new_event(reversed_event, source=uow.source), *consequences(uow, state, result)]
    )
    return {
        "payment_id": payment_id,
        "loan_id": loan_id,
        "reversed": True,
        "reason": reason,
        "credit_balance_minor": state.loan.credit_balance,
        "balances": [b.model_dump(mode="json") for b in reversed_event.balances],
    }
