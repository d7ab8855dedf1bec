"""The ledger's consumers: which topics it reads and which handler applies each event type."""

from __future__ import annotations

from ledger.service_layer import handlers
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.consumer import Batchable
from lendkit.contracts.overdue import PenaltyAssessed, PenaltyWaived
from lendkit.contracts.restructure import PlanAccepted, PlanAcceptedV2, PlanBroken, PlanCancelled
from lendkit.contracts.topics import OVERDUE_LOANS, RESTRUCTURE_PLANS
from lendkit.runtime import ConsumerSpec

CONSUMERS: ConsumerSpec[LedgerUnitOfWork] = ConsumerSpec(
    topics=[OVERDUE_LOANS, RESTRUCTURE_PLANS],
    handlers={
        PenaltyAssessed: Batchable(handlers.on_penalties_assessed),
        PenaltyWaived: handlers.on_penalty_waived,
        PlanAccepted: handlers.on_plan_accepted,
        PlanAcceptedV2: handlers.on_plan_accepted_v2,
        PlanBroken: handlers.on_plan_broken,
        PlanCancelled: handlers.on_plan_cancelled,
    },
)
