"""Contract payloads built from domain results (the wire lives in ``lendkit.contracts``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from lendkit.contracts.money import InstalmentTerms
from lendkit.contracts.restructure import (
    ForbearanceChanged,
    PlanAcceptedV2,
    PlanAmount,
    PromiseFallingDue,
    PromiseResolved,
)
from restructure.domain.forbearance import Transition
from restructure.domain.plans import Quote
from restructure.domain.position import LoanPosition
from restructure.domain.promises import PromiseOutcome, PromiseResult


def _amounts(values: Mapping[str, int]) -> list[PlanAmount]:
    return [
        PlanAmount(kind=kind, amount_minor=amount)
        for kind, amount in sorted(values.items())
        if amount
    ]


def plan_accepted(
    plan_id: str, quote: Quote, position: LoanPosition, effective_date: date
) -> PlanAcceptedV2:
    """The accepted plan with its exact schedule; refused unless it reconciles."""
    quote.check(position)
    return PlanAcceptedV2(
        plan_id=plan_id,
        loan_id=quote.loan_id,
        plan_type=quote.plan_type.value,
        currency=quote.currency,
        effective_date=effective_date,
        new_annual_rate=str(quote.annual_rate),
        rewrites_schedule=quote.rewrites_schedule,
        outstanding_principal_minor=position.outstanding_principal,
        instalments=[
            InstalmentTerms(
                seq=i.seq,
                due_date=i.due_date,
                principal_minor=i.principal,
                interest_minor=i.interest,
            )
            for i in quote.instalments
        ],
        capitalised=_amounts(quote.capitalised),
        carried_to_first=_amounts(quote.carried),
        waived=_amounts(quote.waived),
        written_off_principal_minor=quote.written_off_principal,
        settlement_deadline=quote.settlement_deadline,
    )


def plan_conservation_errors(plan: PlanAcceptedV2, outstanding_principal: int) -> list[str]:
    """What a booking side checks before booking ``plan``: its principal equals the
    outstanding principal plus the capitalised amounts minus the principal written off."""
    principal = sum(i.principal_minor for i in plan.instalments)
    capitalised = sum(a.amount_minor for a in plan.capitalised)
    expected = outstanding_principal + capitalised - plan.written_off_principal_minor
    errors = []
    if plan.outstanding_principal_minor != outstanding_principal:
        errors.append(
            f"plan quoted on {plan.outstanding_principal_minor}, outstanding is "
            f"{outstanding_principal}"
        )
    if principal != expected:
        errors.append(f"schedule principal {principal} != {expected}")
    return errors


def forbearance_changed(loan_id: str, transition: Transition) -> ForbearanceChanged:
    clock = transition.clock
    return ForbearanceChanged(
        loan_id=loan_id,
        event=transition.event.value,
        on=transition.on,
        status=clock.status.value,
        forborne_on=clock.forborne_on,
        cure_ends_on=clock.cure_ends_on,
        probation_starts_on=clock.probation_starts_on,
        probation_ends_on=clock.probation_ends_on,
    )


def promise_resolved(loan_id: str, result: PromiseResult, on: date) -> PromiseResolved | None:
    """The resolution event, or None while the promise is open."""
    if result.outcome is PromiseOutcome.OPEN:
        return None
    return PromiseResolved(
        promise_id=result.promise.promise_id,
        loan_id=loan_id,
        resolved_on=on,
        outcome=result.outcome.value,
        matched_minor=result.matched,
    )


def promise_falling_due(
    loan_id: str, currency: str, result: PromiseResult, on: date
) -> PromiseFallingDue | None:
    """The reminder's fact for a promise still open (not kept by the payments that stand)
    whose date is the day after ``on``; None for any other."""
    promise = result.promise
    if result.outcome is not PromiseOutcome.OPEN or promise.due != on + timedelta(days=1):
        return None
    return PromiseFallingDue(
        promise_id=promise.promise_id,
        loan_id=loan_id,
        business_date=on,
        promised_on=promise.due,
        amount_minor=promise.amount,
        remaining_minor=max(promise.amount - result.matched, 0),
        currency=currency,
    )
