"""Events the restructure service publishes on ``restructure.plans`` (key = loan id)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from lendkit.contracts.money import NonNegativeMinor, Rate
from lendkit.contracts.topics import RESTRUCTURE_PLANS
from lendkit.events.catalogue import EventPayload, event_type


@event_type(
    "restructure.plan.accepted.v1",
    topic=RESTRUCTURE_PLANS,
    description="The borrower accepted a plan; the ledger rewrites the remaining schedule from it.",
)
class PlanAccepted(EventPayload):
    plan_id: str
    loan_id: str
    option: str
    effective_date: date
    first_due_date: date
    new_term: int = Field(ge=1)
    new_annual_rate: Rate
    penalty_waiver_minor: NonNegativeMinor = 0
