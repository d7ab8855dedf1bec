"""Booking one charge (a penalty or fee, or its waiver) and re-settling the loan: what a
penalty, a penalty waiver and a plan's waiver all end with."""

from __future__ import annotations

from datetime import date

from ledger.adapters.contract_shapes import contract_component, open_balances
from ledger.adapters.records import ChargeRecord
from ledger.domain import LedgerComponent, charge_booked_entry, charge_waived_entry
from ledger.domain.charges import ensure_waivable
from ledger.service_layer.settlement import consequences, resettle
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import ChargeBooked
from lendkit.errors import Invalid, NotFound
from lendkit.events import new_event


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
