"""Which topics the notifier reads and which handler applies each event type."""

from __future__ import annotations

from lendkit.contracts import ledger, overdue
from lendkit.contracts.topics import LEDGER_LOANS, LEDGER_PRODUCTS, OVERDUE_LOANS
from lendkit.runtime import ConsumerSpec
from notifier.service_layer import batch_notify, handlers
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

CONSUMERS: ConsumerSpec[NotifierUnitOfWork] = ConsumerSpec(
    topics=[LEDGER_PRODUCTS, LEDGER_LOANS, OVERDUE_LOANS],
    handlers={
        ledger.ProductPublished: handlers.on_product_published,
        ledger.LoanDisbursed: handlers.on_loan_disbursed,
        # Batch mode (set-based decide and record; the same effect one event at a time).
        ledger.RepaymentDue: batch_notify.on_repayments_due,
        overdue.LoanBecameOverdue: batch_notify.on_loans_became_overdue,
        overdue.StageChanged: handlers.on_stage_changed,
        overdue.CreditReportNoticeDue: handlers.on_credit_report_notice_due,
        overdue.LoanCured: handlers.on_loan_cured,
    },
)
