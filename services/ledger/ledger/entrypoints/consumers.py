"""The ledger's consumers: which topics it reads and which handler applies each event type."""

from __future__ import annotations

from ledger.domain import Component, LedgerDomainError
from ledger.service_layer.charges import book_charge, book_penalties
from ledger.service_layer.errors import LedgerError
from ledger.service_layer.schedule_rewrite import rewrite_schedule
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.consumer import Batchable, RejectedEvent
from lendkit.contracts.overdue import PenaltyAssessed, PenaltyWaived
from lendkit.contracts.restructure import PlanAccepted
from lendkit.contracts.topics import OVERDUE_LOANS, RESTRUCTURE_PLANS
from lendkit.events import CloudEvent
from lendkit.runtime import ConsumerSpec


async def on_penalties_assessed(uow: LedgerUnitOfWork, events: list[CloudEvent]) -> None:
    """A run of penalty events in one transaction (the consumer's batch mode)."""
    try:
        await book_penalties(uow, events)
    except (LedgerError, LedgerDomainError) as exc:
        raise RejectedEvent(str(exc)) from exc


async def on_penalty_waived(uow: LedgerUnitOfWork, event: CloudEvent) -> None:
    waiver = event.payload(PenaltyWaived)
    try:
        await book_charge(
            uow,
            loan_id=waiver.loan_id,
            seq=waiver.seq,
            component=Component.PENALTY,
            amount=-waiver.amount_minor,
            currency=waiver.currency,
            business_date=waiver.business_date,
            source_event_id=event.id,
        )
    except (LedgerError, LedgerDomainError) as exc:
        raise RejectedEvent(str(exc)) from exc


async def on_plan_accepted(uow: LedgerUnitOfWork, event: CloudEvent) -> None:
    try:
        await rewrite_schedule(uow, event.payload(PlanAccepted), event.id)
    except (LedgerError, LedgerDomainError) as exc:
        raise RejectedEvent(str(exc)) from exc


CONSUMERS: ConsumerSpec[LedgerUnitOfWork] = ConsumerSpec(
    topics=[OVERDUE_LOANS, RESTRUCTURE_PLANS],
    handlers={
        PenaltyAssessed: Batchable(on_penalties_assessed),
        PenaltyWaived: on_penalty_waived,
        PlanAccepted: on_plan_accepted,
    },
)
