"""Which topics the notifier reads and which handler applies each event type."""

from __future__ import annotations

from lendkit.consumer import Batchable
from lendkit.contracts import ledger, overdue, restructure
from lendkit.contracts.topics import LEDGER_LOANS, LEDGER_PRODUCTS, OVERDUE_LOANS, RESTRUCTURE_PLANS
from lendkit.runtime import ConsumerSpec
from notifier.service_layer import handlers
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

CONSUMERS: ConsumerSpec[NotifierUnitOfWork] = ConsumerSpec(
    topics=[LEDGER_PRODUCTS, LEDGER_LOANS, OVERDUE_LOANS, RESTRUCTURE_PLANS],
    handlers={
        ledger.ProductPublished: handlers.on_product_published,
        ledger.LoanDisbursed: Batchable.each(handlers.on_loan_disbursed),
        # Batch mode (set-based decide and record; the same effect one event at a time).
        ledger.RepaymentUpcoming: Batchable(handlers.on_repayments_upcoming),
        ledger.RepaymentDue: Batchable(handlers.on_repayments_due),
        ledger.BusinessDayClosed: handlers.on_business_day_closed,
        overdue.LoanBecameOverdue: Batchable(handlers.on_loans_became_overdue),
        overdue.StageChanged: Batchable(handlers.on_stages_changed),
        overdue.CreditReportNoticeDue: handlers.on_credit_report_notice_due,
        overdue.LoanCured: Batchable.each(handlers.on_loan_cured),
        overdue.DelinquencyPaused: Batchable.each(handlers.on_delinquency_paused),
        overdue.DelinquencyResumed: Batchable.each(handlers.on_delinquency_resumed),
        # Restructure facts that become triggers.
        restructure.OfferMade: handlers.on_offer_made,
        restructure.PlanBroken: handlers.on_plan_broken,
        restructure.PromiseFallingDue: handlers.on_promise_falling_due,
    },
)
