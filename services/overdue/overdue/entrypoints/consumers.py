"""Which topics the overdue service reads and which handler applies each event type."""

from __future__ import annotations

from lendkit.consumer import Handler
from lendkit.contracts.topics import (
    LEDGER_LOANS,
    LEDGER_PRODUCTS,
    NOTIFIER_CONTACTS,
    RESTRUCTURE_PLANS,
)
from lendkit.db import UnitOfWork
from lendkit.runtime import ConsumerSpec
from overdue.service_layer import handlers

TOPICS = [LEDGER_PRODUCTS, LEDGER_LOANS, RESTRUCTURE_PLANS, NOTIFIER_CONTACTS]

HANDLERS: dict[str, Handler[UnitOfWork]] = {
    "ledger.product.published.v1": handlers.product_published,
    "ledger.loan.disbursed.v1": handlers.loan_disbursed,
    "ledger.repayment.due.v1": handlers.repayment_due,
    "ledger.payment.allocated.v1": handlers.payment_allocated,
    "ledger.payment.reversed.v1": handlers.payment_reversed,
    "ledger.charge.booked.v1": handlers.charge_booked,
    "ledger.schedule.rewritten.v1": handlers.schedule_rewritten,
    "ledger.business_day.closed.v1": handlers.business_day_closed,
    "restructure.plan.accepted.v1": handlers.plan_accepted,
    "notifier.message.delivered.v1": handlers.message_delivered,
}


def consumer_spec(topics: list[str] | None = None) -> ConsumerSpec[UnitOfWork]:
    """``topics`` replaces the production topic names (tests use private copies)."""
    return ConsumerSpec(topics=topics or list(TOPICS), handlers=HANDLERS)
