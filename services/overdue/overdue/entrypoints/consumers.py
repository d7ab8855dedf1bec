"""Which topics the overdue service reads and which handler applies each event type."""

from __future__ import annotations

from lendkit.consumer import Batchable
from lendkit.contracts import ledger, notifier, restructure
from lendkit.contracts.topics import (
    LEDGER_LOANS,
    LEDGER_PRODUCTS,
    NOTIFIER_CONTACTS,
    RESTRUCTURE_PLANS,
)
from lendkit.runtime import ConsumerSpec
from overdue.service_layer import handlers
from overdue.service_layer.unit_of_work import OverdueUnitOfWork

CONSUMERS: ConsumerSpec[OverdueUnitOfWork] = ConsumerSpec(
    topics=[LEDGER_PRODUCTS, LEDGER_LOANS, RESTRUCTURE_PLANS, NOTIFIER_CONTACTS],
    handlers={
        ledger.ProductPublished: handlers.on_product_published,
        # Runs of these (a day's disbursements, a close's due instalments and penalty
        # bookings, a payment batch's allocations, the notifier's delivery receipts: one
        # per message sent) apply in one transaction each.
        ledger.LoanDisbursed: Batchable.each(handlers.on_loan_disbursed),
        ledger.RepaymentDue: Batchable.each(handlers.on_repayment_due),
        ledger.PaymentAllocated: Batchable.each(handlers.on_payment_allocated),
        ledger.PaymentReversed: Batchable.each(handlers.on_payment_reversed),
        ledger.ChargeBooked: Batchable(handlers.on_charges_booked),
        ledger.ScheduleRewritten: handlers.on_schedule_rewritten,
        ledger.PlanBooked: handlers.on_plan_booked,
        ledger.SettlementLapsed: handlers.on_settlement_lapsed,
        ledger.BusinessDayClosed: handlers.on_business_day_closed,
        restructure.PlanAccepted: handlers.on_plan_accepted,
        restructure.PlanAcceptedV2: handlers.on_plan_accepted_v2,
        restructure.PlanBroken: handlers.on_plan_broken,
        restructure.PlanCancelled: handlers.on_plan_cancelled,
        notifier.MessageDelivered: Batchable.each(handlers.on_message_delivered),
    },
)
