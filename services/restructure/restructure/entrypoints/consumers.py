"""Which topics the restructure service reads and which handler applies each event type.

The loan facts that come one per loan and day (balances, delinquency) apply a partition's run
in one transaction (``Batchable.each``: one commit and one ``processed_events`` statement
per run; a failing event fails the run, whose events are then applied one by one, so a dead
letter stays that event's own). Plan and promise facts go one at a time."""

from __future__ import annotations

from lendkit.consumer import Batchable
from lendkit.contracts import ledger, notifier, overdue
from lendkit.contracts.topics import (
    LEDGER_LOANS,
    LEDGER_PRODUCTS,
    NOTIFIER_CONTACTS,
    OVERDUE_LOANS,
)
from lendkit.runtime import ConsumerSpec
from restructure.service_layer import handlers
from restructure.service_layer.unit_of_work import RestructureUnitOfWork

CONSUMERS: ConsumerSpec[RestructureUnitOfWork] = ConsumerSpec(
    topics=[LEDGER_PRODUCTS, LEDGER_LOANS, OVERDUE_LOANS, NOTIFIER_CONTACTS],
    handlers={
        ledger.ProductPublished: handlers.on_product_published,
        ledger.LoanDisbursed: Batchable.each(handlers.on_loan_disbursed),
        ledger.PaymentAllocated: Batchable.each(handlers.on_payment_allocated),
        ledger.PaymentReversed: Batchable.each(handlers.on_payment_reversed),
        ledger.ChargeBooked: Batchable(handlers.on_charges_booked),
        ledger.ScheduleRewritten: handlers.on_schedule_rewritten,
        ledger.PlanBooked: handlers.on_plan_booked,
        ledger.SettlementCompleted: handlers.on_settlement_completed,
        ledger.SettlementLapsed: handlers.on_settlement_lapsed,
        ledger.SettlementReversed: handlers.on_settlement_reversed,
        ledger.BusinessDayClosed: handlers.on_business_day_closed,
        overdue.LoanBecameOverdue: Batchable.each(handlers.on_became_overdue),
        overdue.BucketChanged: Batchable.each(handlers.on_bucket_changed),
        overdue.LoanCured: Batchable.each(handlers.on_loan_cured),
        overdue.StageChanged: Batchable.each(handlers.on_stage_changed),
        notifier.PromiseMade: handlers.on_promise_made_on_a_call,
    },
)
