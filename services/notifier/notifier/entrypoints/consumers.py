"""Which topics the notifier reads and which handler applies each event type."""

from __future__ import annotations

from lendkit.contracts import ledger, overdue
from lendkit.contracts.topics import LEDGER_LOANS, LEDGER_PRODUCTS, OVERDUE_LOANS
from lendkit.runtime import ConsumerSpec
from notifier.service_layer import handlers
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

CONSUMERS: ConsumerSpec[NotifierUnitOfWork] = ConsumerSpec(
    topics=[LEDGER_PRODUCTS, LEDGER_LOANS, OVERDUE_LOANS],
    handlers={
        ledger.ProductPublished: handlers.on_product_published,
        ledger.LoanDisbursed: handlers.on_loan_disbursed,
        ledger.RepaymentUpcoming: handlers.on_repayment_upcoming,
        ledger.RepaymentDue: handlers.on_repayment_due,
        ledger.BusinessDayClosed: handlers.on_business_day_closed,
        overdue.LoanBecameOverdue: handlers.on_loan_became_overdue,
        overdue.StageChanged: handlers.on_stage_changed,
        overdue.CreditReportNoticeDue: handlers.on_credit_report_notice_due,
        overdue.LoanCured: handlers.on_loan_cured,
    },
)
