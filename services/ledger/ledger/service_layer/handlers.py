"""Consumed facts: ``on_<fact>(uow, event)``, one per event type the ledger reads
(``entrypoints/consumers.py`` maps contract classes to them).

Charges: penalties booked from ``overdue.penalty.assessed`` and waived from
``overdue.penalty.waived``, each exactly once per source event. :func:`book_charge` books
one charge and re-runs the loan's allocation (``resettle``): always right, about 10 ms a
charge. :func:`book_penalties` books a batch of penalty events (the consumer's batch mode)
set-based where that is provably the same as a replay (``uow.penalty_batch``), and sends
the rest through ``book_charge``.

Accepted restructuring plans (``plan.accepted`` v1 and v2) are booked by
``service_layer.restructuring``: schedule rewrites, capitalisation, waivers, held
discounted settlements. A broken plan whose product restores the original terms
(``restructure.plan.broken`` with ``on_break: restore_original_terms``) is undone by
``service_layer.restore``.

A refusal (``lendkit.errors.ServiceError``, ``LedgerDomainError``) dead-letters the event
with the reason (``@rejecting``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from ledger.adapters.contract_shapes import (
    domain_component,
)
from ledger.adapters.penalty_batch import LoanFacts, NewCharge
from ledger.domain import (
    LedgerComponent,
    LedgerDomainError,
    charge_booked_entry,
)
from ledger.domain.charges import appends_like_replay
from ledger.service_layer.charges import book_charge
from ledger.service_layer.restore import restore_original_terms
from ledger.service_layer.restructuring import book_plan, cancel_plan_booking, rewrite_schedule
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.consumer import rejecting
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.overdue import PenaltyAssessed, PenaltyWaived
from lendkit.contracts.restructure import PlanAccepted, PlanAcceptedV2, PlanBroken, PlanCancelled
from lendkit.errors import ServiceError
from lendkit.events import CloudEvent


@rejecting(LedgerDomainError, ServiceError)
async def on_penalties_assessed(uow: LedgerUnitOfWork, events: list[CloudEvent]) -> None:
    """A run of penalty events in one transaction (the consumer's batch mode)."""
    await book_penalties(uow, events)


@rejecting(LedgerDomainError, ServiceError)
async def on_penalty_waived(uow: LedgerUnitOfWork, event: CloudEvent) -> None:
    waiver = event.payload(PenaltyWaived)
    await book_charge(
        uow,
        loan_id=waiver.loan_id,
        seq=waiver.seq,
        component=LedgerComponent.PENALTY,
        amount=-waiver.amount_minor,
        currency=waiver.currency,
        business_date=waiver.business_date,
        source_event_id=event.id,
    )


@rejecting(LedgerDomainError, ServiceError)
async def on_plan_accepted(uow: LedgerUnitOfWork, event: CloudEvent) -> None:
    await rewrite_schedule(uow, event.payload(PlanAccepted), event.id)


@rejecting(LedgerDomainError, ServiceError)
async def on_plan_accepted_v2(uow: LedgerUnitOfWork, event: CloudEvent) -> None:
    """Book the plan exactly as quoted (``service_layer.restructuring.book_plan``)."""
    await book_plan(uow, event.payload(PlanAcceptedV2), event.id)


async def book_penalties(uow: LedgerUnitOfWork, events: Sequence[CloudEvent]) -> None:
    """Book ``overdue.penalty.assessed`` events (first-seen, in partition order), each once.

    Fast path, set-based, for the loans on which appending the charges is exactly what a
    replay would do: active, no credit held (nothing to apply to a new charge), same
    currency, every instalment named in the current schedule, no live payment valued on
    or after the earliest new charge and no charge booked after it (so no allocation can
    change). There the charges, the instalments' outstanding penalty, one balanced journal
    entry per charge and one ``ChargeBooked`` per charge (balances after that charge) are
    written with a few array statements. Every other loan's events go through
    :func:`book_charge` in order. A loan is wholly on one path, so its charges keep order.

    Raises like ``book_charge`` (``lendkit.errors.ServiceError``, ``MalformedEvent``): the
    consumer then applies the events one by one to isolate the bad one.
    """
    if not events:
        return
    penalties = [(event, event.payload(PenaltyAssessed)) for event in events]
    batch = uow.penalty_batch
    since: dict[str, date] = {}
    for _, p in penalties:
        known = since.get(p.loan_id)
        since[p.loan_id] = p.business_date if known is None else min(known, p.business_date)
    loans = await batch.lock_loans(since)
    plain = {
        loan_id
        for loan_id, facts in loans.items()
        if appends_like_replay(
            status=facts.status,
            credit_balance=facts.credit_balance,
            paid_since=facts.paid_since,
            charged_after=facts.charged_after,
        )
    }
    for _, p in penalties:
        facts = loans.get(p.loan_id)
        if (
            facts is None
            or p.component is not ContractComponent.PENALTY
            or p.currency != facts.currency
            or all(i.seq != p.seq for i in facts.instalments)
        ):
            plain.discard(p.loan_id)
    fast = [(e, p) for e, p in penalties if p.loan_id in plain and p.amount_minor > 0]
    if fast:
        seen = await batch.booked_before([e.id for e, _ in fast])
        await _book_plain(
            uow,
            loans,
            [
                NewCharge(
                    charge_id=str(uuid.uuid4()),
                    loan_id=p.loan_id,
                    seq=p.seq,
                    amount=p.amount_minor,
                    currency=p.currency,
                    business_date=p.business_date,
                    source_event_id=e.id,
                )
                for e, p in fast
                if e.id not in seen
            ],
        )
    for event, p in penalties:
        if p.loan_id in plain:
            continue  # booked above (or zero: nothing to book)
        await book_charge(
            uow,
            loan_id=p.loan_id,
            seq=p.seq,
            component=domain_component(p.component),
            amount=p.amount_minor,
            currency=p.currency,
            business_date=p.business_date,
            source_event_id=event.id,
        )


async def _book_plain(
    uow: LedgerUnitOfWork, loans: dict[str, LoanFacts], charges: list[NewCharge]
) -> None:
    if not charges:
        return
    template = charge_booked_entry(LedgerComponent.PENALTY, 1, charges[0].currency)
    await uow.penalty_batch.book(
        LedgerComponent.PENALTY.value,
        charges,
        [str(uuid.uuid4()) for _ in charges],
        memo=template.memo,
        receivable=template.lines[0].account,
        income=template.lines[1].account,
    )
    await uow.penalty_batch.publish_charges_booked(charges, loans, source=uow.source)


@rejecting(LedgerDomainError, ServiceError)
async def on_plan_cancelled(uow: LedgerUnitOfWork, event: CloudEvent) -> None:
    """Undo what was booked for a plan cancelled before it was active
    (``service_layer.restructuring.cancel_plan_booking``)."""
    await cancel_plan_booking(uow, event.payload(PlanCancelled), event.id)


@rejecting(LedgerDomainError, ServiceError)
async def on_plan_broken(uow: LedgerUnitOfWork, event: CloudEvent) -> None:
    """``restore_original_terms``: the loan goes back to its pre-plan terms; otherwise the
    plan's terms stay and there is nothing to book."""
    await restore_original_terms(uow, event.payload(PlanBroken), event.id)
