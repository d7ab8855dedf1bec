"""Booking accepted restructuring plans, each in one transaction.

Schedule rewrites (``plan.accepted`` v1, and v2 plans that rewrite the schedule): the new
schedule version keeps every settled instalment as it was. Each instalment still owing
something is closed at what was already paid on it; its unpaid penalties, fees and
already-recognised interest move to the first new instalment (``transfer`` charges:
receivables that change instalment, no new income). Interest not yet recognised on a
replaced instalment is simply not owed any more. v1 re-amortises the unpaid principal
itself (``rewrite_remaining_schedule``) and books its penalty waiver against the first new
instalment. v2 books exactly the plan's instalments once they conserve the balance
(outstanding principal + capitalised - written off), then what the plan capitalises,
waives or adds to the first instalment (``ledger.domain.restructure.plan_adjustments``):
``ledger.schedule.rewritten`` and ``ledger.plan.booked``.

Plans that keep the schedule: a penalty / fee waiver is booked on the instalments that owe
it, oldest first (``ChargeBooked`` per instalment, then ``ledger.plan.booked``); a promise
to pay books nothing.

Discounted settlements are held (``uow.settlements``, the plan as received): when the
live payments valued from acceptance to the deadline reach the amount
(:func:`review_settlement`, after every payment), the plan is booked exactly as quoted on
the position at acceptance (the payments before it stand): the open instalments closed,
the lump (the principal not written off, with the carried amounts) due on the deadline,
the quoted penalty, fees and interest waived and the principal written off. The replay
puts the settlement's payments on the lump; whatever is still owed (charges assessed
since acceptance) is forgiven too, and the loan settles: ``ledger.settlement.completed``.
While a settlement is pending, other plans for the loan are refused. A settlement whose
deadline has passed lapses at that day's close of business (:func:`lapse_settlements`):
``ledger.settlement.lapsed``, nothing else changes. When a payment in a completed
settlement's window is reversed and what stands no longer reaches the amount, the
settlement is void (:func:`void_reversed_settlement`): its booking is undone as a broken
plan's is (``ledger.service_layer.restore``: the write-off and waivers reinstated, the loan
back on the terms before it), ``ledger.settlement.reversed``; a later payment does not
complete it again.

A plan cancelled in the restructure service before it was active
(``restructure.plan.cancelled``, :func:`cancel_plan_booking`) is undone here too, whatever
the ledger had booked for it meanwhile: a held settlement is withdrawn, a rewrite goes
back to the terms before it (reason ``plan_cancelled``), a waiver is reinstated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from ledger.adapters.contract_shapes import open_balances, terms
from ledger.adapters.records import InstalmentRecord, LoanState, PaymentRecord, SettlementOffer
from ledger.domain import (
    Instalment,
    JournalEntry,
    LedgerComponent,
    charge_waived_entry,
    principal_written_off_entry,
    rewrite_remaining_schedule,
)
from ledger.domain.charges import net_charges
from ledger.domain.resettlement import replay_loan
from ledger.domain.restructure import (
    PLAN_COMPONENTS,
    PlanDisposition,
    checked_exact_schedule,
    moved_totals,
    plan_adjustments,
    replace_instalment,
    settlement_paid,
    spread_waiver,
)
from ledger.service_layer.charges import book_charge
from ledger.service_layer.restore import undo_plan_booking
from ledger.service_layer.settlement import consequences, resettle
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import (
    BookedAmount,
    PlanBooked,
    ScheduleRewritten,
    SettlementCompleted,
    SettlementLapsed,
    SettlementReversed,
)
from lendkit.contracts.restructure import PlanAccepted, PlanAcceptedV2, PlanAmount, PlanCancelled
from lendkit.errors import Conflict, Invalid, NotFound
from lendkit.events import CloudEvent, new_event

PRINCIPAL = LedgerComponent.PRINCIPAL
#: (component, from seq, amount) moving off a replaced instalment.
Move = tuple[LedgerComponent, int, int]


def _by_kind(amounts: Iterable[PlanAmount]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for a in amounts:
        totals[a.kind] = totals.get(a.kind, 0) + a.amount_minor
    return totals


def _booked(amounts: Mapping[str, int]) -> list[BookedAmount]:
    return [
        BookedAmount(kind=kind, amount_minor=amount)
        for kind, amount in sorted(amounts.items())
        if amount
    ]


def disposition(plan: PlanAcceptedV2) -> PlanDisposition:
    """What the plan does with the amounts it does not reschedule, by kind."""
    return PlanDisposition(
        capitalised=_by_kind(plan.capitalised),
        carried=_by_kind(plan.carried_to_first),
        waived=_by_kind(plan.waived),
        written_off_principal=plan.written_off_principal_minor,
    )


async def _load(uow: LedgerUnitOfWork, loan_id: str) -> LoanState:
    state = await uow.loans.load(loan_id)
    if state is None:
        raise NotFound(f"no loan {loan_id}")
    return state


def _outstanding_principal(state: LoanState) -> int:
    return sum(i.outstanding[PRINCIPAL] for i in state.instalments)


async def book_plan(uow: LedgerUnitOfWork, plan: PlanAcceptedV2, source_event_id: str) -> None:
    """Book ``restructure.plan.accepted.v2`` exactly as quoted (see the module)."""
    if plan.plan_type == "promise_to_pay":
        return  # the schedule and the balances stay; the restructure service matches payments
    if plan.plan_type == "discounted_settlement":
        await hold_settlement(uow, plan)
    elif not plan.rewrites_schedule:
        await waive_for_plan(uow, plan, source_event_id)
    else:
        if not plan.instalments:
            raise Invalid(f"plan {plan.plan_id} has no instalments")
        await _no_pending_settlement(uow, plan)
        v1 = PlanAccepted(
            plan_id=plan.plan_id,
            loan_id=plan.loan_id,
            option=plan.plan_type,
            effective_date=plan.effective_date,
            first_due_date=plan.instalments[0].due_date,
            new_term=len(plan.instalments),
            new_annual_rate=plan.new_annual_rate,
        )
        await rewrite_schedule(uow, v1, source_event_id, exact=plan)


def _close_open_instalments(
    state: LoanState,
) -> tuple[list[InstalmentRecord], list[Move]]:
    """Every instalment as the new version keeps it (open ones closed at what was paid),
    and what moves off the closed ones (``replace_instalment``)."""
    remaining = net_charges(state.charges)
    kept: list[InstalmentRecord] = []
    moves: list[Move] = []
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
    return kept, moves


@dataclass
class _Rewrite:
    rewritten: ScheduleRewritten
    events: list[CloudEvent]
    moves: list[Move]
    first_new: int
    carried: Mapping[str, int]


async def rewrite_schedule(
    uow: LedgerUnitOfWork,
    plan: PlanAccepted,
    source_event_id: str,
    *,
    exact: PlanAcceptedV2 | None = None,
) -> ScheduleRewritten:
    """Rewrite the remaining schedule from ``plan`` (v1), or book ``exact`` (v2)."""
    state = await _load(uow, plan.loan_id)
    loan = state.loan
    await _no_pending_settlement(uow, exact or plan)
    done = await _rewrite(uow, state, plan, source_event_id, exact=exact)
    if exact is not None:
        terms_ = disposition(exact)
        booked = PlanBooked(
            loan_id=loan.loan_id,
            plan_id=plan.plan_id,
            plan_type=exact.plan_type,
            booked_on=plan.effective_date,
            schedule_version=done.rewritten.schedule_version,
            rewrote_schedule=True,
            capitalised=_booked(terms_.capitalised),
            carried_to_first=_booked(done.carried),
            waived=_booked(terms_.waived),
        )
        done.events.append(new_event(booked, source=uow.source))
    await uow.emit_all(done.events)
    carried_penalty = sum(a for c, _, a in done.moves if c is LedgerComponent.PENALTY)
    if exact is None and (waiver := min(plan.penalty_waiver_minor, carried_penalty)):
        # Every unpaid penalty now sits on the first new instalment: the plan waives from it
        # (at most what it carries there), audited like any waiver and published as
        # ChargeBooked with the amount booked.
        await book_charge(
            uow,
            loan_id=loan.loan_id,
            seq=done.first_new,
            component=LedgerComponent.PENALTY,
            amount=-waiver,
            currency=loan.currency,
            business_date=plan.effective_date,
            source_event_id=f"{source_event_id}:penalty-waiver",
        )
    return done.rewritten


async def _rewrite(
    uow: LedgerUnitOfWork,
    state: LoanState,
    plan: PlanAccepted,
    source_event_id: str,
    *,
    exact: PlanAcceptedV2 | None,
) -> _Rewrite:
    """The new schedule version, the charges and journal entries that move, capitalise,
    waive and write off, the re-settlement; the events, not yet emitted. Open instalments
    are closed at what their ``outstanding`` says is paid."""
    loan = state.loan
    replaced = [i for i in state.instalments if i.owed > 0]
    if not replaced:
        raise Invalid(f"loan {loan.loan_id} owes nothing; there is no schedule to rewrite")
    first_replaced = min(i.seq for i in replaced)
    outstanding_principal = _outstanding_principal(state)
    if outstanding_principal == 0:
        raise Invalid("no principal is outstanding; the plan cannot re-amortise charges alone")
    rate = Decimal(plan.new_annual_rate)
    start_seq = max(i.seq for i in state.instalments) + 1
    plan_terms = None if exact is None else disposition(exact)
    if exact is None or plan_terms is None:
        new_instalments = rewrite_remaining_schedule(
            outstanding_principal,
            state.product,
            annual_rate=rate,
            term=plan.new_term,
            first_due_date=plan.first_due_date,
            start_seq=start_seq,
        ).instalments
    else:
        if exact.currency != loan.currency:
            raise Invalid(f"plan {exact.plan_id} in {exact.currency} on a {loan.currency} loan")
        new_instalments = checked_exact_schedule(
            exact.plan_id,
            quoted_outstanding=exact.outstanding_principal_minor,
            outstanding_principal=outstanding_principal,
            start_seq=start_seq,
            instalments=[
                Instalment(i.seq, i.due_date, i.principal_minor, i.interest_minor)
                for i in exact.instalments
            ],
            capitalised=plan_terms.capitalised_total,
            written_off_principal=plan_terms.written_off_principal,
        )
    first_new = new_instalments[0].seq
    kept, moves = _close_open_instalments(state)
    adjustments = (
        None
        if plan_terms is None
        else plan_adjustments(
            plan.plan_id,
            plan_terms,
            moved_totals((component, amount) for component, _, amount in moves),
            loan.currency,
        )
    )
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
        reference=source_event_id,
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
    if adjustments is not None:
        for n, row in enumerate(adjustments.rows):
            charge = await uow.loans.add_charge(
                loan.loan_id,
                seq=first_new,
                component=row.component,
                amount=row.amount,
                kind=row.kind,
                business_date=plan.effective_date,
                source_event_id=f"{source_event_id}:plan:{n}",
            )
            assert charge is not None
            state.charges.append(charge)
        await uow.loans.add_journal_entries(
            loan.loan_id,
            [*(row.entry for row in adjustments.rows), *adjustments.entries],
            business_date=plan.effective_date,
            reference=source_event_id,
        )
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
    events = [new_event(rewritten, source=uow.source), *consequences(uow.source, state, result)]
    carried = {} if adjustments is None else adjustments.carried
    return _Rewrite(rewritten, events, moves, first_new, carried)


async def _no_pending_settlement(
    uow: LedgerUnitOfWork, plan: PlanAccepted | PlanAcceptedV2
) -> None:
    """While a settlement is held, the loan's schedule stays as the settlement was quoted."""
    pending = await uow.settlements.pending_for(plan.loan_id)
    if pending is not None and pending.plan_id != plan.plan_id:
        raise Conflict(
            f"loan {plan.loan_id} has a pending settlement (plan {pending.plan_id}) until "
            f"{pending.deadline}; plan {plan.plan_id} is not booked"
        )


def _refuse_unless(plan: PlanAcceptedV2, state: LoanState, problems: list[str]) -> None:
    outstanding = _outstanding_principal(state)
    if plan.outstanding_principal_minor != outstanding:
        problems.insert(
            0,
            f"quoted on an outstanding principal of {plan.outstanding_principal_minor}, "
            f"the ledger has {outstanding}",
        )
    if plan.currency != state.loan.currency:
        problems.append(f"plan in {plan.currency} on a {state.loan.currency} loan")
    if problems:
        raise Invalid(f"plan {plan.plan_id} cannot be booked: {'; '.join(problems)}")


def _waiver_source(plan_id: str) -> str:
    """The source id prefix of a plan's waivers: one booking per plan, found again when the
    plan is cancelled."""
    return f"plan:{plan_id}:waive:"


async def waive_for_plan(uow: LedgerUnitOfWork, plan: PlanAcceptedV2, source_event_id: str) -> None:
    """A plan that keeps the schedule and waives penalty and fees (full or partial): each
    waiver booked on the instalments that owe it, oldest first."""
    await _no_pending_settlement(uow, plan)
    state = await _load(uow, plan.loan_id)
    waived = _by_kind(plan.waived)
    problems = []
    if plan.capitalised:
        problems.append("a plan that keeps the schedule capitalises nothing")
    if plan.written_off_principal_minor:
        problems.append("a plan that keeps the schedule writes off no principal")
    if other := sorted(k for k in waived if k not in ("penalty", "fee")):
        problems.append(f"only penalty and fees are waived without a new schedule, not {other}")
    principal = sum(i.principal_minor for i in plan.instalments)
    if plan.instalments and principal != _outstanding_principal(state):
        problems.append(f"the schedule's principal {principal} is not the outstanding principal")
    _refuse_unless(plan, state, problems)
    waivers: list[tuple[LedgerComponent, int, int]] = []
    for kind in ("penalty", "fee"):
        component = PLAN_COMPONENTS[kind]
        if amount := waived.get(kind, 0):
            owed = {i.seq: i.outstanding[component] for i in state.instalments}
            waivers += [(component, seq, a) for seq, a in spread_waiver(owed, amount)]
    for component, seq, amount in waivers:
        await book_charge(
            uow,
            loan_id=plan.loan_id,
            seq=seq,
            component=component,
            amount=-amount,
            currency=plan.currency,
            business_date=plan.effective_date,
            source_event_id=f"{_waiver_source(plan.plan_id)}{component.value}:{seq}",
        )
    carried = _by_kind(plan.carried_to_first)
    booked = PlanBooked(
        loan_id=plan.loan_id,
        plan_id=plan.plan_id,
        plan_type=plan.plan_type,
        booked_on=plan.effective_date,
        schedule_version=state.loan.schedule_version,
        rewrote_schedule=False,
        carried_to_first=_booked(carried),
        waived=_booked(waived),
    )
    await uow.emit(new_event(booked, source=uow.source))


async def hold_settlement(uow: LedgerUnitOfWork, plan: PlanAcceptedV2) -> SettlementOffer:
    """Hold a discounted settlement: the amount (the lump plus what stays carried) by the
    deadline. Nothing is written off now."""
    state = await _load(uow, plan.loan_id)
    problems = []
    if len(plan.instalments) != 1:
        problems.append(f"a settlement is one payment, not {len(plan.instalments)}")
    if plan.settlement_deadline is None:
        problems.append("a settlement needs a deadline")
    elif plan.settlement_deadline < plan.effective_date:
        problems.append(f"deadline {plan.settlement_deadline} is before {plan.effective_date}")
    if plan.capitalised:
        problems.append("a settlement capitalises nothing")
    if other := sorted(k for k in _by_kind(plan.waived) if k not in PLAN_COMPONENTS):
        problems.append(f"a settlement waives owed components only, not {other}")
    _refuse_unless(plan, state, problems)
    lump = plan.instalments[0]
    checked_exact_schedule(
        plan.plan_id,
        quoted_outstanding=plan.outstanding_principal_minor,
        outstanding_principal=_outstanding_principal(state),
        start_seq=max(i.seq for i in state.instalments) + 1,
        instalments=[Instalment(lump.seq, lump.due_date, lump.principal_minor, 0)],
        written_off_principal=plan.written_off_principal_minor,
    )
    if lump.interest_minor:
        raise Invalid(f"plan {plan.plan_id}: a settlement's lump carries no interest")
    assert plan.settlement_deadline is not None
    offer = SettlementOffer(
        plan_id=plan.plan_id,
        loan_id=plan.loan_id,
        amount=lump.principal_minor
        + lump.interest_minor
        + sum(a.amount_minor for a in plan.carried_to_first),
        deadline=plan.settlement_deadline,
        accepted_on=plan.effective_date,
        plan=plan.model_dump(mode="json"),
    )
    if not await uow.settlements.add(offer):
        pending = await uow.settlements.pending_for(plan.loan_id)
        if pending is not None and pending.plan_id != plan.plan_id:
            raise Conflict(f"loan {plan.loan_id} has a pending settlement (plan {pending.plan_id})")
        raise Conflict(f"settlement plan {plan.plan_id} was booked before")
    booked = PlanBooked(
        loan_id=plan.loan_id,
        plan_id=plan.plan_id,
        plan_type=plan.plan_type,
        booked_on=plan.effective_date,
        schedule_version=state.loan.schedule_version,
        rewrote_schedule=False,
        settlement_amount_minor=offer.amount,
        settlement_deadline=offer.deadline,
    )
    await uow.emit(new_event(booked, source=uow.source))
    return offer


async def review_settlement(uow: LedgerUnitOfWork, state: LoanState, on: date) -> list[CloudEvent]:
    """After a payment valued ``on``: complete the loan's pending settlement once what was
    paid in its window reaches the amount; the events to publish (none otherwise)."""
    offer = await uow.settlements.pending_for(state.loan.loan_id)
    if offer is None or not offer.accepted_on <= on <= offer.deadline:
        return []
    if not state.history_loaded:
        await uow.loans.load_history(state)
    paid = settlement_paid(offer.accepted_on, offer.deadline, state.payments)
    if paid < offer.amount:
        return []
    return await _complete_settlement(uow, state, offer, paid, on)


async def _complete_settlement(
    uow: LedgerUnitOfWork, state: LoanState, offer: SettlementOffer, paid: int, on: date
) -> list[CloudEvent]:
    """Book the held plan exactly (as of acceptance: the settlement's own payments then pay
    the lump), then forgive whatever is still owed (charges assessed since)."""
    loan = state.loan
    plan = PlanAcceptedV2.model_validate(offer.plan)
    reference = f"settlement:{offer.plan_id}"
    # The position the plan was quoted on: what the payments before acceptance left owed.
    before = replay_loan(
        [i.contractual() for i in state.instalments],
        [p for p in state.payments if p.value_date < offer.accepted_on],
        state.charges,
        state.product.allocation_order,
    )
    owed_then = {due.seq: due for due in before.outstanding}
    for i in state.instalments:
        i.outstanding = {c: owed_then[i.seq].owes(c) for c in LedgerComponent}
    lump = plan.instalments[0]
    as_v1 = PlanAccepted(
        plan_id=plan.plan_id,
        loan_id=plan.loan_id,
        option=plan.plan_type,
        effective_date=on,
        first_due_date=lump.due_date,
        new_term=1,
        new_annual_rate=plan.new_annual_rate,
    )
    done = await _rewrite(uow, state, as_v1, reference, exact=plan)
    events = done.events
    waived = _by_kind(plan.waived)
    written_off = plan.written_off_principal_minor
    version = done.rewritten.schedule_version
    residue = [i.seq for i in state.instalments if i.owed > 0]
    if residue:
        # Owed beyond the quote (a penalty assessed since acceptance, say): forgiven too,
        # every open instalment closed at what was paid.
        kept, moves = _close_open_instalments(state)
        residue_principal = _outstanding_principal(state)
        version = await uow.loans.next_version(loan.loan_id)
        loan.schedule_version = version
        await uow.loans.add_schedule_version(
            loan,
            version,
            kept,
            reason="restructure:discounted_settlement",
            effective=on,
            plan_id=offer.plan_id,
        )
        closing: list[JournalEntry] = []
        for n, (component, from_seq, amount) in enumerate(moves):
            charge = await uow.loans.add_charge(
                loan.loan_id,
                seq=from_seq,
                component=component,
                amount=-amount,
                kind="written_off",
                business_date=on,
                source_event_id=f"{reference}:residue:{n}",
            )
            assert charge is not None
            state.charges.append(charge)
            closing.append(charge_waived_entry(component, amount, loan.currency))
            kind = component.value.lower()
            waived[kind] = waived.get(kind, 0) + amount
        if residue_principal:
            closing.append(principal_written_off_entry(residue_principal, loan.currency))
            written_off += residue_principal
        await uow.loans.add_journal_entries(
            loan.loan_id, closing, business_date=on, reference=reference
        )
        state.instalments = kept
        result = await resettle(uow.loans, state, on)
        rewritten = ScheduleRewritten(
            loan_id=loan.loan_id,
            schedule_version=version,
            plan_id=offer.plan_id,
            reason=plan.plan_type,
            effective_date=on,
            annual_rate=str(loan.annual_rate),
            instalments=terms(i for i in state.instalments if i.seq >= min(residue)),
            balances=open_balances(state.instalments),
        )
        events += [new_event(rewritten, source=uow.source)]
        events += consequences(uow.source, state, result)
    await uow.settlements.complete(offer.plan_id, on)
    completed = SettlementCompleted(
        loan_id=loan.loan_id,
        plan_id=offer.plan_id,
        completed_on=on,
        paid_minor=paid,
        waived=_booked(waived),
        written_off_principal_minor=written_off,
        schedule_version=version,
    )
    return [*events, new_event(completed, source=uow.source)]


async def lapse_settlements(uow: LedgerUnitOfWork, business_date: date) -> list[CloudEvent]:
    """Close of business: every pending settlement whose deadline is ``business_date`` or
    earlier lapses (nothing is written off); the events to publish."""
    return [
        new_event(
            SettlementLapsed(
                loan_id=offer.loan_id,
                plan_id=offer.plan_id,
                deadline=offer.deadline,
                lapsed_on=business_date,
                paid_minor=paid,
                amount_minor=offer.amount,
            ),
            source=uow.source,
        )
        for offer, paid in await uow.settlements.lapse_due(business_date)
    ]


async def void_reversed_settlement(
    uow: LedgerUnitOfWork, state: LoanState, payment: PaymentRecord, on: date
) -> list[CloudEvent] | None:
    """``payment`` (now marked reversed in ``state``) was reversed on ``on``: when it was
    valued in the window of the loan's latest completed settlement and the payments that
    stand there no longer reach the amount, void the settlement and undo its booking; the
    events to publish. None when no settlement depended on it (the caller re-settles)."""
    offer = await uow.settlements.latest_completed(state.loan.loan_id)
    if offer is None or not offer.accepted_on <= payment.value_date <= offer.deadline:
        return None
    paid = settlement_paid(offer.accepted_on, offer.deadline, state.payments)
    if paid >= offer.amount:
        return None
    rewritten, events = await undo_plan_booking(
        uow,
        state,
        offer.plan_id,
        on,
        reason="settlement_reversed",
        source_event_id=f"settlement-reversed:{offer.plan_id}:{payment.payment_id}",
    )
    await uow.settlements.void(offer.plan_id, on)
    voided = SettlementReversed(
        loan_id=state.loan.loan_id,
        plan_id=offer.plan_id,
        payment_id=payment.payment_id,
        reversed_on=on,
        paid_minor=paid,
        amount_minor=offer.amount,
        schedule_version=rewritten.schedule_version,
    )
    return [*events, new_event(voided, source=uow.source)]


async def cancel_plan_booking(
    uow: LedgerUnitOfWork, cancelled: PlanCancelled, source_event_id: str
) -> None:
    """The restructure service cancelled the plan before it became active; undo what the
    ledger booked for it, in one transaction: a held settlement is withdrawn (nothing was
    booked; a later payment is an ordinary one), a rewritten schedule goes back to the
    terms before the plan (``undo_plan_booking``, reason ``plan_cancelled``), a penalty /
    fee waiver is reinstated (the same amounts charged again on the same instalments,
    ``ChargeBooked``). A plan the ledger booked nothing for (a promise to pay, a plan it
    refused) needs nothing. A settlement already completed is not undone by a
    cancellation: refused (``Conflict``, a dead letter for operations)."""
    loan_id, plan_id, on = cancelled.loan_id, cancelled.plan_id, cancelled.cancelled_on
    state = await _load(uow, loan_id)
    pending = await uow.settlements.pending_for(loan_id)
    if pending is not None and pending.plan_id == plan_id:
        await uow.settlements.withdraw(plan_id, on)
        return
    completed = await uow.settlements.latest_completed(loan_id)
    if completed is not None and completed.plan_id == plan_id:
        raise Conflict(
            f"settlement {plan_id} completed on {completed.resolved_on}; a cancellation does "
            "not undo it"
        )
    if await uow.loans.plan_booking(loan_id, plan_id) is not None:
        _, events = await undo_plan_booking(
            uow, state, plan_id, on, reason="plan_cancelled", source_event_id=source_event_id
        )
        await uow.emit_all(events)
        return
    waivers = await uow.loans.charges_booked_as(loan_id, _waiver_source(plan_id))
    for n, waiver in enumerate(waivers):
        await book_charge(
            uow,
            loan_id=loan_id,
            seq=waiver.seq,
            component=waiver.component,
            amount=-waiver.amount,
            currency=state.loan.currency,
            business_date=on,
            source_event_id=f"{source_event_id}:reinstate:{n}",
        )
