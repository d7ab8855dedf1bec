"""Consumed facts: ``on_<fact>(uow, event)``, one per event type the ledger reads
(``entrypoints/consumers.py`` maps contract classes to them).

Charges: penalties booked from ``overdue.penalty.assessed`` and waived from
``overdue.penalty.waived``, each exactly once per source event. :func:`book_charge` books
one charge and re-runs the loan's allocation (``resettle``): always right, about 10 ms a
charge. :func:`book_penalties` books a batch of penalty events (the consumer's batch mode)
set-based where that is provably the same as a replay (``uow.penalty_batch``), and sends
the rest through ``book_charge``.

Schedule rewrites: the remaining schedule rewritten from an accepted restructuring plan,
in one transaction. The new schedule version keeps every settled instalment as it was.
Each instalment still owing something is closed at what was already paid on it; its
unpaid principal is re-amortised by the domain's ``rewrite_remaining_schedule`` into new
instalments numbered after the last old one; its unpaid penalties, fees and
already-recognised interest move to the first new instalment (``transfer`` charges:
receivables that change instalment, no new income). Interest not yet recognised on a
replaced instalment is simply not owed any more. A plan's penalty waiver is then booked
against that first new instalment.

A refusal (``lendkit.errors.ServiceError``, ``LedgerDomainError``) dead-letters the event
with the reason (``@rejecting``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal

from ledger.adapters.contract_shapes import (
    contract_component,
    domain_component,
    open_balances,
    terms,
)
from ledger.adapters.penalty_batch import LoanFacts, NewCharge
from ledger.adapters.records import ChargeRecord, InstalmentRecord, LoanState
from ledger.domain import (
    Instalment,
    LedgerComponent,
    LedgerDomainError,
    charge_booked_entry,
    charge_waived_entry,
    rewrite_remaining_schedule,
)
from ledger.domain.charges import appends_like_replay, ensure_waivable, net_charges
from ledger.domain.restructure import checked_exact_schedule, replace_instalment
from ledger.service_layer.settlement import consequences, resettle
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.consumer import rejecting
from lendkit.contracts.ledger import ChargeBooked, ScheduleRewritten
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.overdue import PenaltyAssessed, PenaltyWaived
from lendkit.contracts.restructure import PlanAccepted, PlanAcceptedV2
from lendkit.errors import Invalid, NotFound, ServiceError
from lendkit.events import CloudEvent, new_event


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
    """Book exactly the plan's schedule (``plan.accepted.v2``) after checking that it
    conserves the outstanding principal. Booked today: schedule rewrites whose only
    adjustment is a penalty waiver; capitalised amounts, other waivers, write-offs and
    plans that keep the schedule are refused with the reason (dead letter), not guessed."""
    plan = event.payload(PlanAcceptedV2)
    unsupported = [
        name
        for name, present in (
            ("capitalised amounts", bool(plan.capitalised)),
            ("waivers other than penalty", any(a.kind != "penalty" for a in plan.waived)),
            ("principal written off", plan.written_off_principal_minor > 0),
            ("a plan that keeps the schedule", not plan.rewrites_schedule),
            (
                "carried deferred interest",
                any(a.kind == "deferred_interest" for a in plan.carried_to_first),
            ),
        )
        if present
    ]
    if unsupported:
        raise Invalid(f"plan {plan.plan_id}: the ledger does not book {', '.join(unsupported)} yet")
    if not plan.instalments:
        raise Invalid(f"plan {plan.plan_id} has no instalments")
    v1 = PlanAccepted(
        plan_id=plan.plan_id,
        loan_id=plan.loan_id,
        option=plan.plan_type,
        effective_date=plan.effective_date,
        first_due_date=plan.instalments[0].due_date,
        new_term=len(plan.instalments),
        new_annual_rate=plan.new_annual_rate,
        penalty_waiver_minor=sum(a.amount_minor for a in plan.waived if a.kind == "penalty"),
    )
    await rewrite_schedule(uow, v1, event.id, exact=plan)


def exact_instalments(
    plan: PlanAcceptedV2, outstanding_principal: int, start_seq: int
) -> tuple[Instalment, ...]:
    """The plan's own instalments, checked by :func:`ledger.domain.checked_exact_schedule`."""
    return checked_exact_schedule(
        plan.plan_id,
        quoted_outstanding=plan.outstanding_principal_minor,
        outstanding_principal=outstanding_principal,
        start_seq=start_seq,
        instalments=[
            Instalment(i.seq, i.due_date, i.principal_minor, i.interest_minor)
            for i in plan.instalments
        ],
    )


async def book_charge(
    uow: LedgerUnitOfWork,
    *,
    loan_id: str,
    seq: int,
    component: LedgerComponent,
    amount: int,
    currency: str,
    business_date: date,
    source_event_id: str,
) -> ChargeRecord | None:
    """Book (amount > 0) or waive (amount < 0) a charge on instalment ``seq``.

    A waiver is booked whole or not at all: it must reduce charges of that instalment and
    component dated on or before it, net of earlier reductions, and leave every later
    reduction whole (else ``InvalidWaiver``, which the consumer dead-letters with the reason).
    ``ChargeBooked`` carries what was booked. Returns None when nothing was booked
    (already booked for this source event).
    """
    state = await uow.loans.load(loan_id)
    if state is None:
        raise NotFound(f"no loan {loan_id}")
    if currency != state.loan.currency:
        raise Invalid(f"charge in {currency} on a {state.loan.currency} loan")
    if state.instalment(seq) is None:
        raise Invalid(f"loan {loan_id} has no instalment {seq} in its current schedule")
    if component not in (LedgerComponent.PENALTY, LedgerComponent.FEE):
        raise Invalid(f"{component} cannot be booked as a charge")
    if amount < 0:
        ensure_waivable(state.charges, seq, component, -amount, business_date)
    if amount == 0:
        return None
    charge = await uow.loans.add_charge(
        loan_id,
        seq=seq,
        component=component,
        amount=amount,
        kind="assessed" if amount > 0 else "waived",
        business_date=business_date,
        source_event_id=source_event_id,
    )
    if charge is None:
        return None
    entry = (
        charge_booked_entry(component, amount, currency)
        if amount > 0
        else charge_waived_entry(component, -amount, currency)
    )
    await uow.loans.add_journal_entries(
        loan_id, [entry], business_date=business_date, reference=source_event_id
    )
    state.charges.append(charge)
    result = await resettle(uow.loans, state, business_date)
    booked = ChargeBooked(
        loan_id=loan_id,
        charge_id=charge.charge_id,
        source_event_id=source_event_id,
        seq=seq,
        component=contract_component(component),
        amount_minor=amount,
        currency=currency,
        business_date=business_date,
        balances=open_balances(state.instalments),
    )
    await uow.emit_all(
        [new_event(booked, source=uow.source), *consequences(uow.source, state, result)]
    )
    return charge


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


async def rewrite_schedule(
    uow: LedgerUnitOfWork,
    plan: PlanAccepted,
    source_event_id: str,
    *,
    exact: PlanAcceptedV2 | None = None,
) -> ScheduleRewritten:
    state: LoanState | None = await uow.loans.load(plan.loan_id)
    if state is None:
        raise NotFound(f"no loan {plan.loan_id}")
    loan = state.loan
    replaced = [i for i in state.instalments if i.owed > 0]
    if not replaced:
        raise Invalid(f"loan {loan.loan_id} owes nothing; there is no schedule to rewrite")
    first_replaced = min(i.seq for i in replaced)
    outstanding_principal = sum(i.outstanding[LedgerComponent.PRINCIPAL] for i in replaced)
    if outstanding_principal == 0:
        raise Invalid("no principal is outstanding; the plan cannot re-amortise charges alone")
    rate = Decimal(plan.new_annual_rate)
    start_seq = max(i.seq for i in state.instalments) + 1
    if exact is None:
        new_instalments = rewrite_remaining_schedule(
            outstanding_principal,
            state.product,
            annual_rate=rate,
            term=plan.new_term,
            first_due_date=plan.first_due_date,
            start_seq=start_seq,
        ).instalments
    else:
        new_instalments = exact_instalments(exact, outstanding_principal, start_seq)
    first_new = new_instalments[0].seq
    remaining = net_charges(state.charges)
    kept: list[InstalmentRecord] = []
    moves: list[tuple[LedgerComponent, int, int]] = []  # (component, from seq, amount)
    for i in state.instalments:
        if i.owed == 0:
            kept.append(i)
            continue
        closing = replace_instalment(
            seq=i.seq,
            principal=i.principal,
            interest=i.interest,
            outstanding=i.outstanding,
            interest_recognised=i.interest_recognised,
            charges=remaining,
        )
        kept.append(
            replace(
                i,
                principal=closing.paid_principal,
                interest=closing.paid_interest,
                outstanding=dict.fromkeys(LedgerComponent, 0),
                settled_on=None,
            )
        )
        moves += [(component, i.seq, amount) for component, amount in closing.moves]
    new_rows = [
        InstalmentRecord.new(n.seq, n.due_date, n.principal, n.interest) for n in new_instalments
    ]
    version = await uow.loans.next_version(loan.loan_id)
    loan.schedule_version, loan.annual_rate = version, rate
    await uow.loans.add_schedule_version(
        loan,
        version,
        kept + new_rows,
        reason=f"restructure:{plan.option}",
        effective=plan.effective_date,
        plan_id=plan.plan_id,
    )
    for n, (component, from_seq, amount) in enumerate(moves):
        for seq, signed, leg in ((from_seq, -amount, "out"), (first_new, amount, "in")):
            charge = await uow.loans.add_charge(
                loan.loan_id,
                seq=seq,
                component=component,
                amount=signed,
                kind="transfer",
                business_date=plan.effective_date,
                source_event_id=f"{source_event_id}:{n}:{leg}",
            )
            assert charge is not None
            state.charges.append(charge)
    state.instalments = kept + new_rows
    result = await resettle(uow.loans, state, plan.effective_date)
    rewritten = ScheduleRewritten(
        loan_id=loan.loan_id,
        schedule_version=version,
        plan_id=plan.plan_id,
        reason=plan.option,
        effective_date=plan.effective_date,
        annual_rate=plan.new_annual_rate,
        instalments=terms(i for i in state.instalments if i.seq >= first_replaced),
        balances=open_balances(state.instalments),
    )
    await uow.emit_all(
        [new_event(rewritten, source=uow.source), *consequences(uow.source, state, result)]
    )
    carried_penalty = sum(a for c, _, a in moves if c is LedgerComponent.PENALTY)
    if waiver := min(plan.penalty_waiver_minor, carried_penalty):
        # Every unpaid penalty now sits on the first new instalment: the plan waives from it
        # (at most what it carries there), audited like any waiver and published as
        # ChargeBooked with the amount booked.
        await book_charge(
            uow,
            loan_id=loan.loan_id,
            seq=first_new,
            component=LedgerComponent.PENALTY,
            amount=-waiver,
            currency=loan.currency,
            business_date=plan.effective_date,
            source_event_id=f"{source_event_id}:penalty-waiver",
        )
    return rewritten
