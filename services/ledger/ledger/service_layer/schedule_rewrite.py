"""Rewriting the remaining schedule from an accepted restructuring plan, in one transaction.

The new schedule version keeps every settled instalment as it was. Each instalment still
owing something is closed at what was already paid on it; its unpaid principal is
re-amortised by the domain's ``rewrite_remaining_schedule`` into new instalments numbered
after the last old one; its unpaid penalties, fees and already-recognised interest move to
the first new instalment (``transfer`` charges: receivables that change instalment, no new
income). Interest not yet recognised on a replaced instalment is simply not owed any more.
A plan's penalty waiver is then booked against that first new instalment.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ledger.adapters.records import InstalmentRecord, LoanState
from ledger.domain import Component, rewrite_remaining_schedule
from ledger.service_layer.charges import book_charge
from ledger.service_layer.errors import Invalid, NotFound
from ledger.service_layer.payments import consequences
from ledger.service_layer.resettlement import net_charges, resettle
from ledger.service_layer.shapes import open_balances, terms
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import ScheduleRewritten
from lendkit.contracts.restructure import PlanAccepted
from lendkit.events import new_event


def _closed_at_paid(i: InstalmentRecord, interest_charges: int) -> tuple[InstalmentRecord, int]:
    """The replaced instalment closed at what was paid, and its recognised unpaid interest."""
    paid_principal = i.principal - i.outstanding[Component.PRINCIPAL]
    paid_interest = i.interest + interest_charges - i.outstanding[Component.INTEREST]
    paid_contract_interest = min(paid_interest, i.interest)
    carried = i.interest - paid_contract_interest if i.interest_recognised else 0
    closed = replace(
        i,
        principal=paid_principal,
        interest=paid_contract_interest,
        outstanding=dict.fromkeys(Component, 0),
        settled_on=None,
    )
    return closed, carried


async def rewrite_schedule(
    uow: LedgerUnitOfWork, plan: PlanAccepted, source_event_id: str
) -> ScheduleRewritten:
    state: LoanState | None = await uow.loans.load(plan.loan_id)
    if state is None:
        raise NotFound(f"no loan {plan.loan_id}")
    loan = state.loan
    replaced = [i for i in state.instalments if i.owed > 0]
    if not replaced:
        raise Invalid(f"loan {loan.loan_id} owes nothing; there is no schedule to rewrite")
    first_replaced = min(i.seq for i in replaced)
    outstanding_principal = sum(i.outstanding[Component.PRINCIPAL] for i in replaced)
    if outstanding_principal == 0:
        raise Invalid("no principal is outstanding; the plan cannot re-amortise charges alone")
    rate = Decimal(plan.new_annual_rate)
    new = rewrite_remaining_schedule(
        outstanding_principal,
        state.product,
        annual_rate=rate,
        term=plan.new_term,
        first_due_date=plan.first_due_date,
        start_seq=max(i.seq for i in state.instalments) + 1,
    )
    first_new = new.instalments[0].seq
    remaining = net_charges(state.charges)
    kept: list[InstalmentRecord] = []
    moves: list[tuple[Component, int, int]] = []  # (component, from seq, amount)
    for i in state.instalments:
        if i.owed == 0:
            kept.append(i)
            continue
        interest_charges = sum(
            c.amount for c in remaining if (c.seq, c.component) == (i.seq, Component.INTEREST)
        )
        closed, carried = _closed_at_paid(i, interest_charges)
        kept.append(closed)
        if carried:
            moves.append((Component.INTEREST, i.seq, carried))
        for component in (Component.PENALTY, Component.FEE):
            if i.outstanding[component]:
                moves.append((component, i.seq, i.outstanding[component]))
        if interest_charges and i.outstanding[Component.INTEREST] > i.interest - (closed.interest):
            unpaid_charges = i.outstanding[Component.INTEREST] - (i.interest - closed.interest)
            moves.append((Component.INTEREST, i.seq, unpaid_charges))
    new_rows = [
        InstalmentRecord(
            seq=n.seq,
            due_date=n.due_date,
            principal=n.principal,
            interest=n.interest,
            outstanding={
                Component.PRINCIPAL: n.principal,
                Component.INTEREST: n.interest,
                Component.PENALTY: 0,
                Component.FEE: 0,
            },
        )
        for n in new.instalments
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
    await uow.emit_all([new_event(rewritten, source=uow.source), *consequences(uow, state, result)])
    carried_penalty = sum(a for c, _, a in moves if c is Component.PENALTY)
    if waiver := min(plan.penalty_waiver_minor, carried_penalty):
        # Every unpaid penalty now sits on the first new instalment: the plan waives from it
        # (at most what it carries there), audited like any waiver and published as
        # ChargeBooked with the amount booked.
        await book_charge(
            uow,
            loan_id=loan.loan_id,
            seq=first_new,
            component=Component.PENALTY,
            amount=-waiver,
            currency=loan.currency,
            business_date=plan.effective_date,
            source_event_id=f"{source_event_id}:penalty-waiver",
        )
    return rewritten
