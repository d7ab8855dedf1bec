"""The business day here: once the ledger's close-of-business markers for day ``D`` have
arrived from every partition (every event of ``D`` has been seen), review it once:

1. offers whose last day was ``D`` or earlier expire (``restructure.offer.expired.v1``),
   and requests with nothing left to accept close;
2. each active plan is completed or, with an instalment still owed after its due date
   plus the product's grace, broken (``monitoring``);
3. promises whose date plus grace passed resolve (kept, partly kept, broken) from the
   payments that stand, oldest promise first; an open promise not kept yet whose date is
   the next day falls due (``restructure.promise.falling_due.v1``, what is still owed on it:
   the notifier's promise-due reminder);
4. forbearance clocks observe the day's DPD (cure ended, re-default, probation ended).
"""

from __future__ import annotations

from datetime import date, timedelta

from lendkit.contracts import restructure as contract
from lendkit.events import new_event
from restructure.adapters.records import AuditStep
from restructure.domain.forbearance import observe
from restructure.domain.monitoring import days_past_due
from restructure.domain.promises import PromiseOutcome, PromiseTolerance, evaluate_promises
from restructure.service_layer.messages import (
    forbearance_changed,
    promise_falling_due,
    promise_resolved,
)
from restructure.service_layer.monitoring import SYSTEM, policy_of, review_open_plan
from restructure.service_layer.unit_of_work import RestructureUnitOfWork


async def review_business_day(uow: RestructureUnitOfWork, day: date) -> None:
    if not await uow.days.mark_reviewed(day):
        return
    await expire_offers(uow, day)
    for loan_id in await uow.loans.with_open_plans_or_promises():
        await review_open_plan(uow, loan_id, day)
        await resolve_promises(uow, loan_id, day)
        await observe_forbearance(uow, loan_id, day)


async def expire_offers(uow: RestructureUnitOfWork, day: date) -> None:
    for offer in await uow.offers.expiring(day + timedelta(days=1)):
        await uow.offers.set_status(offer.offer_id, "expired")
        await uow.audit.record(AuditStep("offer", offer.offer_id, offer.loan_id, "expired", SYSTEM))
        await uow.emit(
            new_event(
                contract.OfferExpired(
                    offer_id=offer.offer_id, loan_id=offer.loan_id, expired_on=day
                ),
                source=uow.source,
            )
        )
    for request in await uow.requests.pending_without_open_offers():
        await uow.requests.set_status(request.request_id, "closed")


async def resolve_promises(uow: RestructureUnitOfWork, loan_id: str, day: date) -> None:
    rows = await uow.promises.for_loan(loan_id)
    if not any(r.status == "open" for r in rows):
        return
    loan = await uow.loans.get(loan_id)
    if loan is None:
        return
    policy = await policy_of(uow, loan.product_code)
    tolerance = PromiseTolerance(policy.promise_grace_days, policy.promise_amount_threshold_minor)
    results = evaluate_promises(
        [r.promise for r in rows], await uow.loans.payments(loan_id), tolerance, day
    )
    status = {r.promise.promise_id: r.status for r in rows}
    for result in results:
        if status[result.promise.promise_id] != "open":
            continue
        falling_due = promise_falling_due(loan_id, loan.currency, result, day)
        if falling_due is not None:
            await uow.emit(new_event(falling_due, source=uow.source))
        if result.outcome is PromiseOutcome.OPEN:
            continue
        await uow.promises.set_outcome(
            result.promise.promise_id, result.outcome.value, result.matched, day
        )
        event = promise_resolved(loan_id, result, day)
        if event is not None:
            await uow.emit(new_event(event, source=uow.source))


async def observe_forbearance(uow: RestructureUnitOfWork, loan_id: str, day: date) -> None:
    forborne = await uow.forbearance.get(loan_id)
    loan = await uow.loans.get(loan_id)
    if forborne is None or loan is None:
        return
    transitions = observe(forborne.clock, day, days_past_due(loan.instalments, day))
    for transition in transitions:
        await uow.forbearance.save(loan_id, transition.clock)
        await uow.emit(new_event(forbearance_changed(loan_id, transition), source=uow.source))
