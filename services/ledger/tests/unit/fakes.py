"""A fake ``LedgerUnitOfWork``: the ledger's repositories in memory, for handler unit tests.

The fake repositories implement just the methods the commands and handlers call, with the
real ones' contracts: ``load`` hands out a copy of what is stored (a later save writes it
back), ``add_*`` refuse duplicates like the unique constraints, ``save_settlement``
supersedes allocations and keeps the journal.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from ledger.adapters.penalty_batch import LoanFacts, NewCharge, OpenInstalment
from ledger.adapters.records import (
    AllocationKey,
    ChargeRecord,
    InstalmentRecord,
    LoanRecord,
    LoanState,
    PaymentRecord,
    PlanBookingRecord,
    SettlementOffer,
)
from ledger.domain import (
    AllocationResult,
    JournalEntry,
    LedgerComponent,
    LoanProduct,
    charge_booked_entry,
)
from ledger.domain.clock import ClosedDay
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from lendkit.contracts.ledger import ChargeBooked
from lendkit.contracts.money import Component as ContractComponent
from lendkit.contracts.money import InstalmentBalance
from lendkit.events import new_event
from lendkit.testing.fakes import FakeRepository, FakeUnitOfWork


@dataclass
class StoredLoan:
    """What the database holds for one loan."""

    state: LoanState
    journal: list[tuple[JournalEntry, date, str | None]] = field(default_factory=list)
    reversal_reasons: dict[str, str] = field(default_factory=dict)
    source_events: set[str] = field(default_factory=set)
    schedule_versions: list[tuple[int, str, date, str | None]] = field(default_factory=list)
    #: version -> (its instalments as stored, its rate, the reference of its booking)
    versions: dict[int, tuple[list[InstalmentRecord], Decimal, str | None]] = field(
        default_factory=dict
    )
    charge_sources: dict[str, str] = field(default_factory=dict)


class FakeProducts(FakeRepository[str, LoanProduct]):
    """``add`` is the repository's (async, False when the code is taken), not the base's."""

    def __init__(self, products: Iterable[LoanProduct] = ()) -> None:
        super().__init__(lambda p: p.code)
        self.rows.update({p.code: p for p in products})

    async def add(self, product: LoanProduct) -> bool:  # type: ignore[override]
        if product.code in self.rows:
            return False
        self.rows[product.code] = product
        return True


class FakeLoans:
    def __init__(self, products: FakeProducts) -> None:
        self.products = products
        self.stored: dict[str, StoredLoan] = {}

    # reads -------------------------------------------------------------------------------

    async def get(self, loan_id: str) -> LoanRecord | None:
        found = self.stored.get(loan_id)
        return None if found is None else copy.deepcopy(found.state.loan)

    async def load(
        self, loan_id: str, *, history: bool = True, reference: str | None = None
    ) -> LoanState | None:
        found = self.stored.get(loan_id)
        if found is None:
            return None
        db = found.state
        live = [p.value_date for p in db.payments if not p.reversed]
        state = LoanState(
            loan=copy.deepcopy(db.loan),
            product=db.product,
            instalments=copy.deepcopy(db.instalments),
            history_loaded=False,
            latest_payment_date=max(live, default=None),
            latest_charge_date=max((c.business_date for c in db.charges), default=None),
            reference_taken=any(p.external_reference == reference for p in db.payments),
        )
        if history:
            await self.load_history(state)
        return state

    async def load_history(self, state: LoanState) -> None:
        if state.history_loaded:
            return
        db = self.stored[state.loan.loan_id].state
        state.payments = list(db.payments)
        state.charges = list(db.charges)
        state.allocations = dict(db.allocations)
        state.history_loaded = True

    async def plan_booking(self, loan_id: str, plan_id: str) -> PlanBookingRecord | None:
        stored = self.stored[loan_id]
        found = [(v, e) for v, _, e, p in stored.schedule_versions if p == plan_id]
        if not found:
            return None
        version, effective = min(found)
        before = max(v for v, *_ in stored.schedule_versions if v < version)
        original, rate, _ = stored.versions[before]
        reference = stored.versions[version][2]
        prefix = f"{reference}:"
        return PlanBookingRecord(
            plan_id=plan_id,
            version=version,
            effective_date=effective,
            reference=reference,
            original_version=before,
            original=[
                replace(
                    InstalmentRecord.new(i.seq, i.due_date, i.principal, i.interest),
                    interest_recognised=i.interest_recognised,
                )
                for i in original
            ],
            original_rate=rate,
            charges=[
                c
                for c in stored.state.charges
                if reference is not None
                and stored.charge_sources.get(c.charge_id, "").startswith(prefix)
            ],
            entries=[e for e, _, r in stored.journal if reference is not None and r == reference],
            last_version=max(found)[0],
        )

    async def charges_booked_as(self, loan_id: str, prefix: str) -> list[ChargeRecord]:
        stored = self.stored[loan_id]
        return [
            c
            for c in stored.state.charges
            if stored.charge_sources.get(c.charge_id, "").startswith(prefix)
        ]

    async def next_version(self, loan_id: str) -> int:
        return max(v for v, *_ in self.stored[loan_id].schedule_versions) + 1

    # writes ------------------------------------------------------------------------------

    async def add_loan(self, loan: LoanRecord, schedule: Sequence[InstalmentRecord]) -> bool:
        if loan.loan_id in self.stored:
            return False
        product = self.products.rows[loan.product_code]
        self.stored[loan.loan_id] = StoredLoan(LoanState(copy.deepcopy(loan), product, []))
        await self.add_schedule_version(
            loan,
            loan.schedule_version,
            schedule,
            reason="disbursement",
            effective=loan.disbursed_on,
        )
        return True

    async def add_schedule_version(
        self,
        loan: LoanRecord,
        version: int,
        schedule: Sequence[InstalmentRecord],
        *,
        reason: str,
        effective: date,
        plan_id: str | None = None,
        reference: str | None = None,
    ) -> None:
        stored = self.stored[loan.loan_id]
        if stored.schedule_versions:  # the version being replaced, as it stands now
            current = stored.state.loan.schedule_version
            _, rate, ref = stored.versions[current]
            stored.versions[current] = (copy.deepcopy(stored.state.instalments), rate, ref)
        stored.schedule_versions.append((version, reason, effective, plan_id))
        stored.versions[version] = (copy.deepcopy(list(schedule)), loan.annual_rate, reference)
        stored.state.instalments = copy.deepcopy(list(schedule))
        stored.state.loan.schedule_version = version
        stored.state.loan.annual_rate = loan.annual_rate

    async def add_payment(
        self, loan_id: str, reference: str, amount: int, value_date: date, received_at: datetime
    ) -> PaymentRecord:
        db = self.stored[loan_id].state
        payment = PaymentRecord(
            str(uuid.uuid4()),
            reference,
            amount,
            value_date,
            received_at,
            len(db.payments) + 1,
            reversed=False,
        )
        db.payments.append(payment)
        return payment

    async def mark_reversed(self, payment_id: str, reason: str) -> None:
        for stored in self.stored.values():
            db = stored.state
            for n, p in enumerate(db.payments):
                if p.payment_id == payment_id:
                    db.payments[n] = replace(p, reversed=True)
                    stored.reversal_reasons[payment_id] = reason

    async def add_charge(
        self,
        loan_id: str,
        *,
        seq: int,
        component: LedgerComponent,
        amount: int,
        kind: str,
        business_date: date,
        source_event_id: str,
    ) -> ChargeRecord | None:
        stored = self.stored[loan_id]
        if source_event_id in stored.source_events:
            return None
        stored.source_events.add(source_event_id)
        charge = ChargeRecord(str(uuid.uuid4()), seq, component, amount, kind, business_date)
        stored.charge_sources[charge.charge_id] = source_event_id
        stored.state.charges.append(charge)
        return charge

    async def add_journal_entries(
        self,
        loan_id: str,
        entries: Iterable[JournalEntry],
        *,
        business_date: date,
        reference: str | None = None,
    ) -> None:
        self.stored[loan_id].journal += [(e, business_date, reference) for e in entries]

    async def save_settlement(
        self,
        state: LoanState,
        allocations: Mapping[AllocationKey, AllocationResult | None],
        entries: Sequence[JournalEntry],
        *,
        business_date: date,
    ) -> None:
        stored = self.stored[state.loan.loan_id]
        db = stored.state
        for key, result in allocations.items():
            if result is None:
                db.allocations.pop(key, None)
            else:
                db.allocations[key] = result
        stored.journal += [(e, business_date, None) for e in entries]
        db.instalments = copy.deepcopy(state.instalments)
        db.loan = copy.deepcopy(state.loan)
        _, rate, reference = stored.versions[db.loan.schedule_version]
        stored.versions[db.loan.schedule_version] = (copy.deepcopy(db.instalments), rate, reference)

    # what a test inspects ----------------------------------------------------------------

    def journal(self, loan_id: str) -> list[JournalEntry]:
        return [e for e, _, _ in self.stored[loan_id].journal]

    def state(self, loan_id: str) -> LoanState:
        return self.stored[loan_id].state


class FakeBusinessDays:
    def __init__(self, last_closed: ClosedDay | None = None) -> None:
        self.closed = last_closed

    async def last_closed(self) -> ClosedDay | None:
        return self.closed


class FakePenaltyBatch:
    """The batch path's statements over the fake loans (no SQL to run)."""

    def __init__(self, loans: FakeLoans, uow: FakeUnitOfWork) -> None:
        self.loans = loans
        self.uow = uow

    async def lock_loans(self, since: dict[str, date]) -> dict[str, LoanFacts]:
        found: dict[str, LoanFacts] = {}
        for loan_id, day in since.items():
            if loan_id not in self.loans.stored:
                continue
            db = self.loans.state(loan_id)
            found[loan_id] = LoanFacts(
                loan_id,
                db.loan.status,
                db.loan.credit_balance,
                db.loan.currency,
                any(not p.reversed and p.value_date >= day for p in db.payments),
                any(c.business_date > day for c in db.charges),
                [
                    OpenInstalment(
                        i.seq,
                        i.due_date,
                        i.outstanding[LedgerComponent.PRINCIPAL],
                        i.outstanding[LedgerComponent.INTEREST],
                        i.outstanding[LedgerComponent.PENALTY],
                        i.outstanding[LedgerComponent.FEE],
                    )
                    for i in db.instalments
                ],
            )
        return found

    async def booked_before(self, source_event_ids: Sequence[str]) -> set[str]:
        seen = set().union(*(s.source_events for s in self.loans.stored.values()))
        return {e for e in source_event_ids if e in seen}

    async def book(
        self, component: str, charges: Sequence[NewCharge], entry_ids: Sequence[str], **_: object
    ) -> None:
        for c in charges:
            stored = self.loans.stored[c.loan_id]
            stored.source_events.add(c.source_event_id)
            stored.state.charges.append(
                ChargeRecord(
                    c.charge_id,
                    c.seq,
                    LedgerComponent(component),
                    c.amount,
                    "assessed",
                    c.business_date,
                )
            )
            stored.journal.append(
                (
                    charge_booked_entry(LedgerComponent(component), c.amount, c.currency),
                    c.business_date,
                    c.source_event_id,
                )
            )
            for i in stored.state.instalments:
                if i.seq == c.seq:
                    i.outstanding[LedgerComponent.PENALTY] += c.amount
                    i.settled_on = None

    async def publish_charges_booked(
        self, charges: Sequence[NewCharge], loans: Mapping[str, LoanFacts], *, source: str
    ) -> None:
        for c in charges:
            instalments = loans[c.loan_id].instalments
            for i in instalments:
                if i.seq == c.seq:
                    i.penalty += c.amount
            booked = ChargeBooked(
                loan_id=c.loan_id,
                charge_id=c.charge_id,
                source_event_id=c.source_event_id,
                seq=c.seq,
                component=ContractComponent.PENALTY,
                amount_minor=c.amount,
                currency=c.currency,
                business_date=c.business_date,
                balances=[
                    InstalmentBalance(
                        seq=i.seq,
                        due_date=i.due_date,
                        principal_minor=i.principal,
                        interest_minor=i.interest,
                        penalty_minor=i.penalty,
                        fee_minor=i.fee,
                    )
                    for i in instalments
                    if i.owed > 0
                ],
            )
            await self.uow.emit(new_event(booked, source=source))


class FakeSettlements:
    """Settlements held in memory: one pending per loan, resolved once."""

    def __init__(self, loans: FakeLoans) -> None:
        self.loans = loans
        self.rows: dict[str, SettlementOffer] = {}

    async def add(self, offer: SettlementOffer) -> bool:
        if offer.plan_id in self.rows or await self.pending_for(offer.loan_id) is not None:
            return False
        self.rows[offer.plan_id] = offer
        return True

    async def pending_for(self, loan_id: str) -> SettlementOffer | None:
        return next(
            (o for o in self.rows.values() if o.loan_id == loan_id and o.status == "pending"),
            None,
        )

    async def complete(self, plan_id: str, on: date) -> None:
        if self.rows[plan_id].status == "pending":
            self.rows[plan_id] = replace(self.rows[plan_id], status="completed", resolved_on=on)

    async def latest_completed(self, loan_id: str) -> SettlementOffer | None:
        done = [o for o in self.rows.values() if o.loan_id == loan_id and o.status == "completed"]
        return max(done, key=lambda o: (o.resolved_on or date.min, o.plan_id), default=None)

    async def void(self, plan_id: str, on: date) -> None:
        if self.rows[plan_id].status == "completed":
            self.rows[plan_id] = replace(self.rows[plan_id], status="reversed", resolved_on=on)

    async def withdraw(self, plan_id: str, on: date) -> None:
        if self.rows[plan_id].status == "pending":
            self.rows[plan_id] = replace(self.rows[plan_id], status="cancelled", resolved_on=on)

    async def lapse_due(self, business_date: date) -> list[tuple[SettlementOffer, int]]:
        lapsed = []
        for o in list(self.rows.values()):
            if o.status != "pending" or o.deadline > business_date:
                continue
            self.rows[o.plan_id] = replace(o, status="lapsed", resolved_on=business_date)
            paid = sum(
                p.amount
                for p in self.loans.stored[o.loan_id].state.payments
                if not p.reversed and o.accepted_on <= p.value_date <= o.deadline
            )
            lapsed.append((self.rows[o.plan_id], paid))
        return lapsed


class FakeLedgerUnitOfWork(FakeUnitOfWork):
    source = "ledger-test"

    def __init__(
        self, products: Iterable[LoanProduct] = (), last_closed: ClosedDay | None = None
    ) -> None:
        super().__init__()
        self.products = FakeProducts(products)
        self.loans = FakeLoans(self.products)
        self.business_days = FakeBusinessDays(last_closed)
        self.penalty_batch = FakePenaltyBatch(self.loans, self)
        self.settlements = FakeSettlements(self.loans)

    def as_ledger(self) -> LedgerUnitOfWork:
        """This fake where a command's signature wants the real unit of work."""
        return cast(LedgerUnitOfWork, self)
