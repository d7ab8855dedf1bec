"""Events the restructure service publishes on ``restructure.plans`` (key = loan id)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from lendkit.contracts.money import Currency, InstalmentTerms, NonNegativeMinor, Rate, Shape
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


PlanTypeName = Literal[
    "payment_holiday",
    "term_extension",
    "re_amortisation",
    "rate_reduction",
    "penalty_waiver",
    "discounted_settlement",
    "promise_to_pay",
]
AmountKind = Literal["interest", "penalty", "fee", "deferred_interest"]


class PlanAmount(Shape):
    """An owed amount and what the plan does with it."""

    kind: AmountKind
    amount_minor: NonNegativeMinor


@event_type(
    "restructure.plan.accepted.v2",
    topic=RESTRUCTURE_PLANS,
    description=(
        "The borrower accepted a plan; carries the exact new schedule. The ledger books "
        "exactly these instalments after checking that their principal equals the "
        "outstanding principal plus the capitalised amounts minus the principal written off."
    ),
)
class PlanAcceptedV2(EventPayload):
    plan_id: str
    loan_id: str
    plan_type: PlanTypeName
    currency: Currency
    effective_date: date
    new_annual_rate: Rate
    rewrites_schedule: bool
    outstanding_principal_minor: NonNegativeMinor
    instalments: list[InstalmentTerms]
    capitalised: list[PlanAmount] = Field(default_factory=list)
    carried_to_first: list[PlanAmount] = Field(default_factory=list)
    waived: list[PlanAmount] = Field(default_factory=list)
    written_off_principal_minor: NonNegativeMinor = 0
    settlement_deadline: date | None = None


@event_type(
    "restructure.hardship.requested.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "A borrower stated a hardship reason and asked for a plan (one pending request per loan)."
    ),
)
class HardshipRequested(EventPayload):
    request_id: str
    loan_id: str
    requested_on: date
    reason: str


@event_type(
    "restructure.quote.issued.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "A plan type was quoted exactly for a hardship request (schedule, total cost, effective annual cost)."
    ),
)
class QuoteIssued(EventPayload):
    quote_id: str
    request_id: str
    loan_id: str
    plan_type: PlanTypeName
    total_cost_minor: NonNegativeMinor
    effective_annual_cost: Rate
    expires_on: date


@event_type(
    "restructure.offer.made.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "A plan was offered to the borrower (from a quote, or by operations); it expires on expires_on."
    ),
)
class OfferMade(EventPayload):
    offer_id: str
    loan_id: str
    plan_type: PlanTypeName
    expires_on: date
    made_by: str


@event_type(
    "restructure.offer.expired.v1",
    topic=RESTRUCTURE_PLANS,
    description=("An offer was neither accepted nor declined by its last day."),
)
class OfferExpired(EventPayload):
    offer_id: str
    loan_id: str
    expired_on: date


@event_type(
    "restructure.plan.activated.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "The ledger rewrote the schedule for an accepted plan: the plan governs the loan from now on."
    ),
)
class PlanActivated(EventPayload):
    plan_id: str
    loan_id: str
    activated_on: date
    schedule_version: int = Field(ge=1)


@event_type(
    "restructure.plan.broken.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "A plan instalment was missed beyond the plan's grace; on_break says what follows: "
        "resume_collections (the plan's terms stay) or restore_original_terms (the ledger puts "
        "the loan back on its pre-plan terms: ledger.schedule.rewritten with reason "
        "restore_original_terms)."
    ),
)
class PlanBroken(EventPayload):
    plan_id: str
    loan_id: str
    broken_on: date
    missed_seq: int = Field(ge=1)
    on_break: Literal["resume_collections", "restore_original_terms"]


@event_type(
    "restructure.plan.cancelled.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "An accepted plan was cancelled before it became active (POST "
        "/plans/{plan_id}/cancel). The ledger undoes whatever it booked for it: a held "
        "discounted settlement is withdrawn (a later payment is an ordinary one), a rewritten "
        "schedule goes back to the terms before the plan (ledger.schedule.rewritten, reason "
        "plan_cancelled), a booked penalty / fee waiver is reinstated (ledger.charge.booked). "
        "The overdue service ends the pause the plan's acceptance started."
    ),
)
class PlanCancelled(EventPayload):
    plan_id: str
    loan_id: str
    plan_type: str
    cancelled_on: date


@event_type(
    "restructure.plan.completed.v1",
    topic=RESTRUCTURE_PLANS,
    description=("Every instalment of the plan is paid."),
)
class PlanCompleted(EventPayload):
    plan_id: str
    loan_id: str
    completed_on: date


PromiseOutcomeName = Literal["kept", "partly_kept", "broken"]


@event_type(
    "restructure.promise.made.v1",
    topic=RESTRUCTURE_PLANS,
    description=("A promise to pay an amount by a date (from the borrower, operations or a call)."),
)
class PromiseMade(EventPayload):
    promise_id: str
    loan_id: str
    made_on: date
    promised_on: date
    amount_minor: NonNegativeMinor
    currency: Currency


@event_type(
    "restructure.promise.falling_due.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "An open promise falls due on the next business day and the payments that stand do not keep it yet: what is still owed on it (the notifier's promise-due reminder)."
    ),
)
class PromiseFallingDue(EventPayload):
    promise_id: str
    loan_id: str
    business_date: date
    promised_on: date
    amount_minor: NonNegativeMinor
    remaining_minor: NonNegativeMinor
    currency: Currency


@event_type(
    "restructure.promise.resolved.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "A promise's outcome once its date plus grace passed: kept, partly kept or broken, with the amount matched (payments oldest promise first)."
    ),
)
class PromiseResolved(EventPayload):
    promise_id: str
    loan_id: str
    resolved_on: date
    outcome: PromiseOutcomeName
    matched_minor: NonNegativeMinor


ForbearanceEventName = Literal[
    "forbearance_started", "cure_period_ended", "probation_ended", "re_defaulted"
]


@event_type(
    "restructure.forbearance.changed.v1",
    topic=RESTRUCTURE_PLANS,
    description=(
        "A forborne loan's status changed: forbearance started, cure period ended, probation ended or re-defaulted; with both clocks' dates."
    ),
)
class ForbearanceChanged(EventPayload):
    loan_id: str
    event: ForbearanceEventName
    on: date
    status: Literal["cure", "probation", "exited"]
    forborne_on: date
    cure_ends_on: date | None = None
    probation_starts_on: date | None = None
    probation_ends_on: date | None = None
