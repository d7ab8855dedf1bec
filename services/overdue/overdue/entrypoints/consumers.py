"""Which topics the overdue service reads and which handler applies each event type."""

from __future__ import annotations

from lendkit.consumer import Handler
from lendkit.contracts import ledger, notifier, restructure
from lendkit.contracts.topics import (
    LEDGER_LOANS,
    LEDGER_PRODUCTS,
    NOTIFIER_CONTACTS,
    RESTRUCTURE_PLANS,
)
from lendkit.db import UnitOfWork
from lendkit.events.catalogue import EventPayload
from lendkit.runtime import ConsumerSpec
from overdue.service_layer import handlers

TOPICS = [LEDGER_PRODUCTS, LEDGER_LOANS, RESTRUCTURE_PLANS, NOTIFIER_CONTACTS]

HANDLERS: dict[type[EventPayload], Handler[UnitOfWork]] = {
    ledger.ProductPublished: handlers.product_published,
    ledger.LoanDisbursed: handlers.loan_disbursed,
    ledger.RepaymentDue: handlers.repayment_due,
    ledger.PaymentAllocated: handlers.payment_allocated,
    ledger.PaymentReversed: handlers.payment_reversed,
    ledger.ChargeBooked: handlers.charge_booked,
    ledger.ScheduleRewritten: handlers.schedule_rewritten,
    ledger.BusinessDayClosed: handlers.business_day_closed,
    restructure.PlanAccepted: handlers.plan_accepted,
    notifier.MessageDelivered: handlers.message_delivered,
}


def consumer_spec(topics: list[str] | None = None) -> ConsumerSpec[UnitOfWork]:
    """``topics`` replaces the production topic names (tests use private copies)."""
    return ConsumerSpec(topics=topics or list(TOPICS), handlers=HANDLERS)
