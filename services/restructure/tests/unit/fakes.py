"""An in-memory restructure unit of work: the handlers and commands run on it as on the real
one (``RestructureUnitOfWork``), each fake repository answering like its PostgreSQL twin in
``restructure.adapters.repository``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lendkit.contracts.policies import RestructurePolicySpec
from lendkit.schedules import DayCount, Frequency, Rounding, ScheduleType
from lendkit.testing.fakes import FakeUnitOfWork
from restructure.adapters.records import (
    AuditStep,
    Forborne,
    HardshipRequest,
    LoanView,
    Offer,
    OpenInstalment,
    Plan,
    Product,
    PromiseRow,
    QuoteRow,
)
from restructure.domain.forbearance import ForbearanceClock
from restructure.domain.position import LoanTerms
from restructure.domain.promises import Promise
from restructure.settings import Settings


class FakeProducts:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[Product, dict[str, str]]] = {}
        self.loans: FakeLoans | None = None

    async def save(
        self, code: str, currency: str, policy: Mapping[str, Any], terms: Mapping[str, str]
    ) -> None:
        product = Product(code, currency, RestructurePolicySpec.model_validate(dict(policy)))
        self.rows[code] = (product, dict(terms))
        if self.loans is not None and terms:
            for loan in list(self.loans.rows.values()):
                if loan.product_code == code and loan.terms is None:
                    self.loans.rows[loan.loan_id] = replace(
                        loan, terms=_terms(loan.currency, loan.annual_rate, terms)
                    )

    async def get(self, code: str) -> Product | None:
        row = self.rows.get(code)
        return None if row is None else row[0]

    async def terms_of(self, code: str) -> dict[str, str] | None:
        row = self.rows.get(code)
        return None if row is None or not row[1] else dict(row[1])


def _terms(currency: str, rate: Decimal, terms: Mapping[str, str]) -> LoanTerms:
    return LoanTerms(
        currency,
        rate,
        ScheduleType(terms["schedule_type"]),
        Frequency(terms["frequency"]),
        DayCount(terms["day_count"]),
        Rounding(terms["rounding"]),
    )


class FakeLoans:
    def __init__(self, uow: FakeRestructureUnitOfWork) -> None:
        self.uow = uow
        self.rows: dict[str, LoanView] = {}
        self.payments_seen: dict[str, dict[str, tuple[date, int, bool]]] = {}
        self.dpd: dict[str, int] = {}

    async def add(
        self,
        *,
        loan_id: str,
        borrower_id: str,
        product_code: str,
        currency: str,
        annual_rate: str,
        disbursed_on: date,
        terms: Mapping[str, str] | None,
        ledger_version: int | None,
    ) -> bool:
        if loan_id in self.rows:
            return False
        rate = Decimal(annual_rate)
        self.rows[loan_id] = LoanView(
            loan_id=loan_id,
            borrower_id=borrower_id,
            product_code=product_code,
            currency=currency,
            annual_rate=rate,
            terms=None if not terms else _terms(currency, rate, terms),
            charged_off=False,
            payments_made=0,
            ledger_version=ledger_version,
            schedule_version=1,
        )
        return True

    async def get(self, loan_id: str, *, lock: bool = False) -> LoanView | None:
        return self.rows.get(loan_id)

    async def replace_instalments(
        self, loan_id: str, instalments: Sequence[OpenInstalment], *, loan_version: int | None
    ) -> None:
        loan = self.rows[loan_id]
        self.rows[loan_id] = replace(
            loan,
            instalments=tuple(sorted(instalments, key=lambda i: i.seq)),
            ledger_version=loan.ledger_version if loan_version is None else loan_version,
        )

    async def ledger_versions(self, loan_ids: Sequence[str]) -> dict[str, int | None]:
        return {i: self.rows[i].ledger_version for i in loan_ids if i in self.rows}

    async def replace_many_instalments(
        self, changes: Mapping[str, tuple[Sequence[OpenInstalment], int | None]]
    ) -> None:
        for loan_id, (instalments, version) in changes.items():
            self.rows[loan_id] = replace(
                self.rows[loan_id],
                instalments=tuple(sorted(instalments, key=lambda i: i.seq)),
                ledger_version=version,
            )

    async def set_rewritten(self, loan_id: str, *, annual_rate: str, schedule_version: int) -> None:
        loan = self.rows[loan_id]
        rate = Decimal(annual_rate)
        terms = None if loan.terms is None else replace(loan.terms, annual_rate=rate)
        self.rows[loan_id] = replace(
            loan, annual_rate=rate, terms=terms, schedule_version=schedule_version
        )

    async def set_delinquency(
        self, loan_id: str, *, dpd: int | None = None, charged_off: bool | None = None
    ) -> None:
        if loan_id not in self.rows:
            return
        if dpd is not None:
            self.dpd[loan_id] = dpd
        if charged_off is not None:
            self.rows[loan_id] = replace(self.rows[loan_id], charged_off=charged_off)

    def _count(self, loan_id: str) -> None:
        standing = [p for p in self.payments_seen.get(loan_id, {}).values() if not p[2]]
        self.rows[loan_id] = replace(self.rows[loan_id], payments_made=len(standing))

    async def record_payment(
        self, loan_id: str, payment_id: str, value_date: date, amount_minor: int
    ) -> bool:
        seen = self.payments_seen.setdefault(loan_id, {})
        added = payment_id not in seen
        if added:
            seen[payment_id] = (value_date, amount_minor, False)
        self._count(loan_id)
        return added

    async def reverse_payment(self, loan_id: str, payment_id: str) -> None:
        seen = self.payments_seen.setdefault(loan_id, {})
        if payment_id in seen:
            on, amount, _ = seen[payment_id]
            seen[payment_id] = (on, amount, True)
        self._count(loan_id)

    async def payments(self, loan_id: str) -> list[tuple[date, int]]:
        return [(on, a) for on, a, rev in self.payments_seen.get(loan_id, {}).values() if not rev]

    async def with_open_plans_or_promises(self) -> list[str]:
        u = self.uow
        ids = {p.loan_id for p in u.plans.rows.values() if p.status == "active"}
        ids |= {p.loan_id for p in u.promises.rows.values() if p.status == "open"}
        ids |= {f.loan_id for f in u.forbearance.rows.values() if f.clock.status != "exited"}
        return sorted(ids)


class FakeRequests:
    def __init__(self) -> None:
        self.rows: dict[str, HardshipRequest] = {}
        self.offers: FakeOffers | None = None

    async def add(self, request: HardshipRequest) -> bool:
        if await self.pending_for(request.loan_id) is not None:
            return False
        self.rows[request.request_id] = request
        return True

    async def pending_for(self, loan_id: str) -> HardshipRequest | None:
        return next(
            (r for r in self.rows.values() if r.loan_id == loan_id and r.status == "pending"),
            None,
        )

    async def get(self, request_id: str) -> HardshipRequest | None:
        return self.rows.get(request_id)

    async def set_status(self, request_id: str, status: str) -> None:
        self.rows[request_id] = replace(self.rows[request_id], status=status)

    async def pending_without_open_offers(self) -> list[HardshipRequest]:
        assert self.offers is not None
        live = {
            o.request_id
            for o in self.offers.rows.values()
            if o.status in ("open", "pending_approval")
        }
        return [r for r in self.rows.values() if r.status == "pending" and r.request_id not in live]


class FakeQuotes:
    def __init__(self) -> None:
        self.rows: dict[str, QuoteRow] = {}

    async def add(self, row: QuoteRow) -> None:
        self.rows[row.quote_id] = row

    async def for_request(self, request_id: str) -> list[QuoteRow]:
        return sorted(
            (q for q in self.rows.values() if q.request_id == request_id), key=lambda q: q.quote_id
        )


class FakeOffers:
    def __init__(self) -> None:
        self.rows: dict[str, Offer] = {}

    async def add(self, offer: Offer) -> None:
        self.rows[offer.offer_id] = offer

    async def get(self, offer_id: str, *, lock: bool = False) -> Offer | None:
        return self.rows.get(offer_id)

    async def for_request(self, request_id: str) -> list[Offer]:
        return [o for o in self.rows.values() if o.request_id == request_id]

    async def set_status(self, offer_id: str, status: str) -> None:
        self.rows[offer_id] = replace(self.rows[offer_id], status=status)

    async def approve(self, offer_id: str, approver: str) -> None:
        offer = self.rows[offer_id]
        assert approver != offer.made_by, "offers_four_eyes CHECK"
        self.rows[offer_id] = replace(offer, status="open", approved_by=approver)

    async def expiring(self, today: date) -> list[Offer]:
        return [
            o
            for o in self.rows.values()
            if o.status in ("open", "pending_approval") and o.expires_on < today
        ]

    async def withdraw_others(self, request_id: str, offer_id: str) -> None:
        for o in list(self.rows.values()):
            if (
                o.request_id == request_id
                and o.offer_id != offer_id
                and o.status in ("open", "pending_approval")
            ):
                self.rows[o.offer_id] = replace(o, status="withdrawn")


class FakePlans:
    def __init__(self) -> None:
        self.rows: dict[str, Plan] = {}
        self.events: dict[str, Mapping[str, Any]] = {}

    async def add(self, plan: Plan, event: Mapping[str, Any]) -> bool:
        if await self.open_for(plan.loan_id) is not None:
            return False
        self.rows[plan.plan_id] = plan
        self.events[plan.plan_id] = event
        return True

    async def get(self, plan_id: str, *, lock: bool = False) -> Plan | None:
        return self.rows.get(plan_id)

    async def for_offer(self, offer_id: str) -> Plan | None:
        return next((p for p in self.rows.values() if p.offer_id == offer_id), None)

    async def open_for(self, loan_id: str) -> Plan | None:
        return next(
            (
                p
                for p in self.rows.values()
                if p.loan_id == loan_id and p.status in ("accepted", "active")
            ),
            None,
        )

    async def activation_dates(self, loan_id: str) -> list[date]:
        return [
            p.activated_on
            for p in self.rows.values()
            if p.loan_id == loan_id and p.activated_on is not None
        ]

    async def activate(self, plan_id: str, on: date) -> None:
        self.rows[plan_id] = replace(self.rows[plan_id], status="active", activated_on=on)

    async def close(
        self, plan_id: str, status: str, on: date, *, broken_seq: int | None = None
    ) -> None:
        self.rows[plan_id] = replace(
            self.rows[plan_id], status=status, closed_on=on, broken_seq=broken_seq
        )


class FakeAudit:
    def __init__(self) -> None:
        self.steps: list[AuditStep] = []

    async def record(self, step: AuditStep) -> None:
        self.steps.append(step)


class FakePromises:
    def __init__(self) -> None:
        self.rows: dict[str, PromiseRow] = {}

    async def add(self, loan_id: str, promise: Promise, source: str) -> bool:
        if promise.promise_id in self.rows:
            return False
        self.rows[promise.promise_id] = PromiseRow(promise, loan_id, source, "open", 0)
        return True

    async def for_loan(self, loan_id: str) -> list[PromiseRow]:
        return sorted(
            (p for p in self.rows.values() if p.loan_id == loan_id),
            key=lambda p: (p.promise.made_on, p.promise.promise_id),
        )

    async def set_outcome(
        self, promise_id: str, status: str, matched_minor: int, resolved_on: date | None
    ) -> None:
        self.rows[promise_id] = replace(
            self.rows[promise_id], status=status, matched_minor=matched_minor
        )


class FakeForbearance:
    def __init__(self) -> None:
        self.rows: dict[str, Forborne] = {}

    async def get(self, loan_id: str) -> Forborne | None:
        return self.rows.get(loan_id)

    async def save(self, loan_id: str, clock: ForbearanceClock) -> None:
        self.rows[loan_id] = Forborne(loan_id, clock)


class FakeDays:
    def __init__(self) -> None:
        self.markers: dict[date, set[int]] = {}
        self.reviewed: set[date] = set()

    async def record_marker(self, business_date: date, partition: int, partitions: int) -> bool:
        seen = self.markers.setdefault(business_date, set())
        seen.add(partition)
        return len(seen) >= partitions

    async def mark_reviewed(self, business_date: date) -> bool:
        if business_date in self.reviewed:
            return False
        self.reviewed.add(business_date)
        return True

    async def last_closed(self) -> date | None:
        return max(self.reviewed, default=None)


class FakeRestructureUnitOfWork(FakeUnitOfWork):
    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings(development_mode=True)
        self.products = FakeProducts()
        self.loans = FakeLoans(self)
        self.products.loans = self.loans
        self.requests = FakeRequests()
        self.quotes = FakeQuotes()
        self.offers = FakeOffers()
        self.requests.offers = self.offers
        self.plans = FakePlans()
        self.audit = FakeAudit()
        self.promises = FakePromises()
        self.forbearance = FakeForbearance()
        self.days = FakeDays()

    async def today(self) -> date:
        last = await self.days.last_closed()
        assert last is not None, "a unit test closes a business day first"
        return last + timedelta(days=1)
