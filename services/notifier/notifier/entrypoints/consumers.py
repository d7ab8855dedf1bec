"""Which topics the notifier reads and which handler applies each event type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lendkit.consumer import Batchable
from lendkit.contracts import ledger, overdue, restructure
from lendkit.contracts.topics import LEDGER_LOANS, LEDGER_PRODUCTS, OVERDUE_LOANS, RESTRUCTURE_PLANS
from lendkit.events.catalogue import CATALOGUE, EventPayload
from lendkit.runtime import ConsumerSpec
from notifier.service_layer import handlers
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

Handler = Callable[[NotifierUnitOfWork, Any], Awaitable[None]]

#: Restructure facts that become triggers. The restructure service registers their types as
#: its flow publishes them; each is consumed from the moment it is in the catalogue.
RESTRUCTURE_TRIGGERS: dict[type[EventPayload], Handler] = {
    restructure.OfferMade: handlers.on_offer_made,
    restructure.PlanBroken: handlers.on_plan_broken,
}


def _registered(model: type[EventPayload]) -> bool:
    try:
        CATALOGUE.spec_for_model(model)
    except LookupError:
        return False
    return True


_RESTRUCTURE = {m: h for m, h in RESTRUCTURE_TRIGGERS.items() if _registered(m)}

CONSUMERS: ConsumerSpec[NotifierUnitOfWork] = ConsumerSpec(
    topics=[LEDGER_PRODUCTS, LEDGER_LOANS, OVERDUE_LOANS]
    + ([RESTRUCTURE_PLANS] if _RESTRUCTURE else []),
    handlers={
        ledger.ProductPublished: handlers.on_product_published,
        ledger.LoanDisbursed: handlers.on_loan_disbursed,
        ledger.RepaymentUpcoming: handlers.on_repayment_upcoming,
        # Batch mode (set-based decide and record; the same effect one event at a time).
        ledger.RepaymentDue: Batchable(handlers.on_repayments_due),
        ledger.BusinessDayClosed: handlers.on_business_day_closed,
        overdue.LoanBecameOverdue: Batchable(handlers.on_loans_became_overdue),
        overdue.StageChanged: handlers.on_stage_changed,
        overdue.CreditReportNoticeDue: handlers.on_credit_report_notice_due,
        overdue.LoanCured: handlers.on_loan_cured,
        **_RESTRUCTURE,
    },
)
