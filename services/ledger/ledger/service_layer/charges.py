"""Charges: penalties booked from overdue.penalty.assessed and waived from overdue.penalty.waived,
each exactly once per source event.

``book_charge`` books one charge and re-runs the loan's allocation (``resettle``): always
right, about 10 ms a charge. ``book_penalties`` books a batch of penalty events (the
consumer's batch mode) set-based where that is provably the same as a replay, and sends
the rest through ``book_charge``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date

from ledger.adapters.charge_book import ChargeBook, LoanFacts, NewCharge, OpenInstalment
from ledger.adapters.loan_versions import next_versions
from ledger.adapters.records import ChargeRecord
from ledger.domain import Component, charge_booked_entry, charge_waived_entry
from ledger.service_layer.errors import Invalid, NotFound
from ledger.service_layer.payments import consequences
from ledger.service_layer.resettlement import resettle, unnetted
from ledger.service_layer.shapes import contract_component, domain_component, open_balances
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import ChargeBooked
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.overdue import PenaltyAssessed
from lendkit.events import CloudEvent, new_event
from lendkit.outbox.bulk import PrebuiltEvent, driver_connection, write_prebuilt_events


async def book_charge(
    uow: LedgerUnitOfWork,
    *,
    loan_id: str,
    seq: int,
    component: Component,
    amount: int,
    currency: str,
    business_date: date,
    source_event_id: str,
) -> ChargeRecord | None:
    """Book (amount > 0) or waive (amount < 0) a charge on instalment ``seq``.

    A waiver is booked whole or not at all: it must reduce charges of that instalment and
    component dated on or before it, net of earlier reductions, and leave every later
    reduction whole (else ``Invalid``, which the consumer dead-letters with the reason).
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
    if component not in (Component.PENALTY, Component.FEE):
        raise Invalid(f"{component} cannot be booked as a charge")
    if amount < 0:
        _ensure_waivable(state.charges, seq, component, -amount, business_date)
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
    await uow.emit_all([new_event(booked, source=uow.source), *consequences(uow, state, result)])
    return charge


def _ensure_waivable(
    charges: Sequence[ChargeRecord], seq: int, component: Component, amount: int, on: date
) -> None:
    waiver = ChargeRecord("", seq, component, -amount, "waived", on)
    short = unnetted([*charges, waiver]) - unnetted(charges)
    if short > 0:
        raise Invalid(
            f"waiver of {amount} {component.value} on instalment {seq} dated {on}: only "
            f"{amount - short} is charged on or before that date and not yet waived"
        )


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

    Raises like ``book_charge`` (``LedgerError``, ``MalformedEvent``): the consumer then
    applies the events one by one to isolate the bad one.
    """
    if not events:
        return
    penalties = [(event, event.payload(PenaltyAssessed)) for event in events]
    book = ChargeBook(await driver_connection(uow.session))
    since: dict[str, date] = {}
    for _, p in penalties:
        known = since.get(p.loan_id)
        since[p.loan_id] = p.business_date if known is None else min(known, p.business_date)
    loans = await book.lock_loans(since)
    plain = {loan_id for loan_id, facts in loans.items() if _appendable(facts)}
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
        seen = await book.booked_before([e.id for e, _ in fast])
        await _book_plain(
            uow,
            book,
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


def _appendable(facts: LoanFacts) -> bool:
    return (
        facts.status == "active"
        and facts.credit_balance == 0
        and not facts.paid_since
        and not facts.charged_after
    )


async def _book_plain(
    uow: LedgerUnitOfWork,
    book: ChargeBook,
    loans: dict[str, LoanFacts],
    charges: list[NewCharge],
) -> None:
    if not charges:
        return
    template = charge_booked_entry(Component.PENALTY, 1, charges[0].currency)
    await book.book(
        Component.PENALTY.value,
        charges,
        [str(uuid.uuid4()) for _ in charges],
        memo=template.memo,
        receivable=template.lines[0].account,
        income=template.lines[1].account,
    )
    events: list[PrebuiltEvent] = []
    versions = await next_versions(book.conn, len(charges))
    for c, version in zip(charges, versions, strict=True):
        instalments = loans[c.loan_id].instalments
        for i in instalments:
            if i.seq == c.seq:
                i.penalty += c.amount
        events.append((ChargeBooked, c.loan_id, charge_booked_json(c, instalments, version)))
    await write_prebuilt_events(book.conn, events, source=uow.source)


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def charge_booked_json(
    charge: NewCharge, instalments: Sequence[OpenInstalment], loan_version: int | None = None
) -> str:
    """``ChargeBooked`` as JSON, byte for byte what ``model_dump_json`` gives (tested)."""
    balances = ",".join(
        f'{{"seq":{i.seq},"due_date":"{i.due_date.isoformat()}",'
        f'"principal_minor":{i.principal},"interest_minor":{i.interest},'
        f'"penalty_minor":{i.penalty},"fee_minor":{i.fee}}}'
        for i in instalments
        if i.owed > 0
    )
    return (
        f'{{"loan_id":{_text(charge.loan_id)},"charge_id":"{charge.charge_id}",'
        f'"source_event_id":{_text(charge.source_event_id)},"seq":{charge.seq},'
        f'"component":"{ContractComponent.PENALTY.value}","amount_minor":{charge.amount},'
        f'"currency":{_text(charge.currency)},'
        f'"business_date":"{charge.business_date.isoformat()}","balances":[{balances}],'
        f'"loan_version":{"null" if loan_version is None else loan_version}}}'
    )
