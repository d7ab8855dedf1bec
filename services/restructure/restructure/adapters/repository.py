"""The restructure service's repositories, one class per aggregate, built on the unit of
work's session (``uow.products``, ``uow.loans``, ``uow.requests``, ``uow.quotes``,
``uow.offers``, ``uow.plans``, ``uow.audit``, ``uow.promises``, ``uow.forbearance``,
``uow.days``).

The loan read model's balances are replaced, never computed: every ledger event that
changes what is owed carries each open instalment's outstanding amounts after the change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, text, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.contracts.policies import RestructurePolicySpec
from lendkit.schedules import DayCount, Frequency, Rounding, ScheduleType
from restructure.adapters.quote_json import (
    instalments_from_json,
    instalments_to_json,
    position_from_json,
    position_to_json,
    quote_from_json,
    quote_to_json,
)
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
from restructure.adapters.tables import (
    audit_trail,
    business_day_markers,
    business_days,
    forbearance,
    loan_instalments,
    loan_payments,
    loans,
    offers,
    plans,
    products,
    promises,
    quotes,
    requests,
)
from restructure.domain.forbearance import ForbearanceClock, ForbearanceStatus
from restructure.domain.plans import Quote
from restructure.domain.position import LoanTerms
from restructure.domain.promises import Promise

TERM_COLUMNS = ("schedule_type", "frequency", "day_count", "rounding")
#: The advisory lock that serialises close-of-business markers (any constant of our own).
_MARKER_LOCK = 0x5245_5354


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(
        self, code: str, currency: str, policy: Mapping[str, Any], terms: Mapping[str, str]
    ) -> None:
        """Keep the product's policy and schedule terms; loans of it without terms get them."""
        values = {"code": code, "currency": currency, "restructure_policy": dict(policy), **terms}
        stmt = pg_insert(products).values(**values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[products.c.code],
                set_={
                    **{k: stmt.excluded[k] for k in ("currency", "restructure_policy", *terms)},
                    "updated_at": func.now(),
                },
            )
        )
        await self.session.execute(
            update(loans)
            .where(loans.c.product_code == code, loans.c.schedule_type.is_(None))
            .values(**terms)
        )

    async def get(self, code: str) -> Product | None:
        row = (await self.session.execute(select(products).where(products.c.code == code))).first()
        if row is None:
            return None
        return Product(
            row.code, row.currency, RestructurePolicySpec.model_validate(row.restructure_policy)
        )

    async def terms_of(self, code: str) -> dict[str, str] | None:
        row = (
            await self.session.execute(
                select(*(products.c[c] for c in TERM_COLUMNS)).where(products.c.code == code)
            )
        ).first()
        if row is None or row.schedule_type is None:
            return None
        return {c: getattr(row, c) for c in TERM_COLUMNS}


def _terms(row: Any) -> LoanTerms | None:
    """The terms of a row of ``LoanRepository.get`` (``terms_<column>``)."""
    if row.terms_schedule_type is None:
        return None
    return LoanTerms(
        row.currency,
        Decimal(row.annual_rate),
        ScheduleType(row.terms_schedule_type),
        Frequency(row.terms_frequency),
        DayCount(row.terms_day_count),
        Rounding(row.terms_rounding),
    )


_LOCK_VERSIONS = text(
    "SELECT loan_id, ledger_version FROM loans WHERE loan_id = ANY(CAST(:ids AS text[]))"
    " ORDER BY loan_id FOR UPDATE"
)
_DELETE_INSTALMENTS = text("DELETE FROM loan_instalments WHERE loan_id = ANY(CAST(:ids AS text[]))")
_INSERT_INSTALMENTS = text(
    """
    INSERT INTO loan_instalments
        (loan_id, seq, due_date, principal_minor, interest_minor, penalty_minor, fee_minor)
    SELECT * FROM unnest(CAST(:loan_id AS text[]), CAST(:seq AS int[]),
                         CAST(:due_date AS date[]), CAST(:principal AS bigint[]),
                         CAST(:interest AS bigint[]), CAST(:penalty AS bigint[]),
                         CAST(:fee AS bigint[]))
    """
)
_SET_VERSIONS = text(
    """
    UPDATE loans SET ledger_version = v.version, updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:versions AS int[])) AS v(loan_id, version)
    WHERE loans.loan_id = v.loan_id
    """
)


class LoanRepository:
    """The loan read model: terms, open instalments (unpaid parts), payments, DPD facts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        """A new loan; False when it is known already."""
        added = await self.session.scalar(
            pg_insert(loans)
            .values(
                loan_id=loan_id,
                borrower_id=borrower_id,
                product_code=product_code,
                currency=currency,
                annual_rate=Decimal(annual_rate),
                disbursed_on=disbursed_on,
                ledger_version=ledger_version,
                **(terms or {}),
            )
            .on_conflict_do_nothing()
            .returning(loans.c.loan_id)
        )
        return added is not None

    async def get(self, loan_id: str, *, lock: bool = False) -> LoanView | None:
        """The loan with its schedule terms: its own, else its product's. The product and
        the loan arrive on different topics, handled concurrently in separate transactions:
        neither sees the other uncommitted, so a loan whose product committed during its
        own transaction has no terms copied and takes them from the product here."""
        stmt = (
            select(
                loans,
                *(
                    func.coalesce(loans.c[c], products.c[c]).label(f"terms_{c}")
                    for c in TERM_COLUMNS
                ),
            )
            .outerjoin(products, products.c.code == loans.c.product_code)
            .where(loans.c.loan_id == loan_id)
        )
        if lock:
            stmt = stmt.with_for_update(of=loans)
        row = (await self.session.execute(stmt)).first()
        if row is None:
            return None
        rows = await self.session.execute(
            select(loan_instalments)
            .where(loan_instalments.c.loan_id == loan_id)
            .order_by(loan_instalments.c.seq)
        )
        return LoanView(
            loan_id=row.loan_id,
            borrower_id=row.borrower_id,
            product_code=row.product_code,
            currency=row.currency,
            annual_rate=Decimal(row.annual_rate),
            terms=_terms(row),
            charged_off=row.charged_off,
            payments_made=row.payments_made,
            ledger_version=row.ledger_version,
            schedule_version=row.schedule_version,
            instalments=tuple(
                OpenInstalment(
                    r.seq,
                    r.due_date,
                    r.principal_minor,
                    r.interest_minor,
                    r.penalty_minor,
                    r.fee_minor,
                )
                for r in rows
            ),
        )

    async def replace_instalments(
        self,
        loan_id: str,
        instalments: Sequence[OpenInstalment],
        *,
        loan_version: int | None,
    ) -> None:
        """Every open instalment after a ledger event (instalments not listed are paid)."""
        await self.session.execute(
            delete(loan_instalments).where(loan_instalments.c.loan_id == loan_id)
        )
        if instalments:
            await self.session.execute(
                insert(loan_instalments),
                [
                    {
                        "loan_id": loan_id,
                        "seq": i.seq,
                        "due_date": i.due_date,
                        "principal_minor": i.principal_minor,
                        "interest_minor": i.interest_minor,
                        "penalty_minor": i.penalty_minor,
                        "fee_minor": i.fee_minor,
                    }
                    for i in instalments
                ],
            )
        values: dict[str, Any] = {"updated_at": func.now()}
        if loan_version is not None:
            values["ledger_version"] = loan_version
        await self.session.execute(update(loans).where(loans.c.loan_id == loan_id).values(values))

    async def ledger_versions(self, loan_ids: Sequence[str]) -> dict[str, int | None]:
        """The ledger version of each known loan among ``loan_ids``, locked (``FOR UPDATE``,
        in loan id order, as the one-loan reads lock); unknown loans are left out."""
        rows = await self.session.execute(_LOCK_VERSIONS, {"ids": sorted(set(loan_ids))})
        return {r.loan_id: r.ledger_version for r in rows}

    async def replace_many_instalments(
        self, changes: Mapping[str, tuple[Sequence[OpenInstalment], int | None]]
    ) -> None:
        """``replace_instalments`` for many loans in three statements: each loan's open
        instalments and its ledger version (given in full: None leaves it None)."""
        if not changes:
            return
        ids = sorted(changes)
        await self.session.execute(_DELETE_INSTALMENTS, {"ids": ids})
        rows = [(loan_id, i) for loan_id in ids for i in changes[loan_id][0]]
        if rows:
            await self.session.execute(
                _INSERT_INSTALMENTS,
                {
                    "loan_id": [loan_id for loan_id, _ in rows],
                    "seq": [i.seq for _, i in rows],
                    "due_date": [i.due_date for _, i in rows],
                    "principal": [i.principal_minor for _, i in rows],
                    "interest": [i.interest_minor for _, i in rows],
                    "penalty": [i.penalty_minor for _, i in rows],
                    "fee": [i.fee_minor for _, i in rows],
                },
            )
        await self.session.execute(
            _SET_VERSIONS, {"ids": ids, "versions": [changes[i][1] for i in ids]}
        )

    async def set_rewritten(self, loan_id: str, *, annual_rate: str, schedule_version: int) -> None:
        await self.session.execute(
            update(loans)
            .where(loans.c.loan_id == loan_id)
            .values(annual_rate=Decimal(annual_rate), schedule_version=schedule_version)
        )

    async def set_delinquency(
        self, loan_id: str, *, dpd: int | None = None, charged_off: bool | None = None
    ) -> None:
        """DPD and charge-off as the overdue service reported them."""
        values: dict[str, Any] = {}
        if dpd is not None:
            values["dpd"] = dpd
        if charged_off is not None:
            values["charged_off"] = charged_off
        if values:
            await self.session.execute(
                update(loans).where(loans.c.loan_id == loan_id).values(values)
            )

    async def record_payment(
        self, loan_id: str, payment_id: str, value_date: date, amount_minor: int
    ) -> bool:
        """A payment seen for the first time (False for a reallocation of a known one)."""
        added = await self.session.scalar(
            pg_insert(loan_payments)
            .values(
                loan_id=loan_id,
                payment_id=payment_id,
                value_date=value_date,
                amount_minor=amount_minor,
            )
            .on_conflict_do_nothing()
            .returning(loan_payments.c.payment_id)
        )
        counted = await self.session.scalar(
            select(func.count())
            .select_from(loan_payments)
            .where(loan_payments.c.loan_id == loan_id, loan_payments.c.reversed.is_(False))
        )
        await self.session.execute(
            update(loans).where(loans.c.loan_id == loan_id).values(payments_made=counted or 0)
        )
        return added is not None

    async def reverse_payment(self, loan_id: str, payment_id: str) -> None:
        await self.session.execute(
            update(loan_payments)
            .where(loan_payments.c.loan_id == loan_id, loan_payments.c.payment_id == payment_id)
            .values(reversed=True)
        )
        counted = await self.session.scalar(
            select(func.count())
            .select_from(loan_payments)
            .where(loan_payments.c.loan_id == loan_id, loan_payments.c.reversed.is_(False))
        )
        await self.session.execute(
            update(loans).where(loans.c.loan_id == loan_id).values(payments_made=counted or 0)
        )

    async def payments(self, loan_id: str) -> list[tuple[date, int]]:
        """Payments that stand (not reversed): (value date, amount)."""
        rows = await self.session.execute(
            select(loan_payments.c.value_date, loan_payments.c.amount_minor).where(
                loan_payments.c.loan_id == loan_id, loan_payments.c.reversed.is_(False)
            )
        )
        return [(r.value_date, r.amount_minor) for r in rows]

    async def with_open_plans_or_promises(self) -> list[str]:
        """Loans a business day reviews: an active plan, an open promise or forbearance."""
        stmt = union(
            select(plans.c.loan_id).where(plans.c.status == "active"),
            select(promises.c.loan_id).where(promises.c.status == "open"),
            select(forbearance.c.loan_id).where(forbearance.c.status != "exited"),
        )
        return sorted(r[0] for r in await self.session.execute(stmt))


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: HardshipRequest) -> bool:
        """False when the loan already has a pending request (the partial unique index)."""
        added = await self.session.scalar(
            pg_insert(requests)
            .values(
                request_id=request.request_id,
                loan_id=request.loan_id,
                borrower_id=request.borrower_id,
                reason=request.reason,
                status=request.status,
                requested_on=request.requested_on,
            )
            .on_conflict_do_nothing()
            .returning(requests.c.request_id)
        )
        return added is not None

    async def pending_for(self, loan_id: str) -> HardshipRequest | None:
        row = (
            await self.session.execute(
                select(requests).where(
                    requests.c.loan_id == loan_id, requests.c.status == "pending"
                )
            )
        ).first()
        return None if row is None else _request(row)

    async def get(self, request_id: str) -> HardshipRequest | None:
        row = (
            await self.session.execute(select(requests).where(requests.c.request_id == request_id))
        ).first()
        return None if row is None else _request(row)

    async def set_status(self, request_id: str, status: str) -> None:
        await self.session.execute(
            update(requests).where(requests.c.request_id == request_id).values(status=status)
        )

    async def pending_without_open_offers(self) -> list[HardshipRequest]:
        """Pending requests none of whose offers can still be accepted."""
        open_offer = (
            select(offers.c.offer_id)
            .where(
                offers.c.request_id == requests.c.request_id,
                offers.c.status.in_(("open", "pending_approval")),
            )
            .exists()
        )
        rows = await self.session.execute(
            select(requests).where(requests.c.status == "pending", ~open_offer)
        )
        return [_request(r) for r in rows]


def _request(row: Any) -> HardshipRequest:
    return HardshipRequest(
        row.request_id, row.loan_id, row.borrower_id, row.reason, row.status, row.requested_on
    )


class QuoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: QuoteRow) -> None:
        quote = row.quote
        await self.session.execute(
            insert(quotes).values(
                quote_id=row.quote_id,
                request_id=row.request_id,
                loan_id=row.loan_id,
                plan_type=row.plan_type,
                eligible=row.eligible,
                reasons=list(row.reasons),
                quote=None if quote is None else quote_to_json(quote),
                total_cost_minor=None if quote is None else quote.total_cost,
                effective_annual_cost=None if quote is None else quote.effective_annual_cost,
                expires_on=row.expires_on,
            )
        )

    async def for_request(self, request_id: str) -> list[QuoteRow]:
        rows = await self.session.execute(
            select(quotes).where(quotes.c.request_id == request_id).order_by(quotes.c.quote_id)
        )
        return [_quote_row(r) for r in rows]


def _quote_row(r: Any) -> QuoteRow:
    return QuoteRow(
        r.quote_id,
        r.request_id,
        r.loan_id,
        r.plan_type,
        r.eligible,
        tuple(r.reasons),
        None if r.quote is None else quote_from_json(r.quote),
        r.expires_on,
    )


class OfferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, offer: Offer) -> None:
        await self.session.execute(
            insert(offers).values(
                offer_id=offer.offer_id,
                loan_id=offer.loan_id,
                request_id=offer.request_id,
                quote_id=offer.quote_id,
                plan_type=offer.plan_type,
                quote={
                    **quote_to_json(offer.quote),
                    "position": position_to_json(offer.position),
                },
                status=offer.status,
                made_by=offer.made_by,
                needs_approval=offer.needs_approval,
                approved_by=offer.approved_by,
                expires_on=offer.expires_on,
                forgiven_minor=offer.forgiven_minor,
            )
        )

    async def get(self, offer_id: str, *, lock: bool = False) -> Offer | None:
        stmt = select(offers).where(offers.c.offer_id == offer_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).first()
        return None if row is None else _offer(row)

    async def for_request(self, request_id: str) -> list[Offer]:
        rows = await self.session.execute(
            select(offers).where(offers.c.request_id == request_id).order_by(offers.c.offer_id)
        )
        return [_offer(r) for r in rows]

    async def set_status(self, offer_id: str, status: str) -> None:
        await self.session.execute(
            update(offers).where(offers.c.offer_id == offer_id).values(status=status)
        )

    async def approve(self, offer_id: str, approver: str) -> None:
        await self.session.execute(
            update(offers)
            .where(offers.c.offer_id == offer_id)
            .values(status="open", approved_by=approver, approved_at=func.now())
        )

    async def expiring(self, today: date) -> list[Offer]:
        """Offers still open (or awaiting approval) whose last day is before ``today``."""
        rows = await self.session.execute(
            select(offers)
            .where(offers.c.status.in_(("open", "pending_approval")), offers.c.expires_on < today)
            .order_by(offers.c.offer_id)
            .with_for_update()
        )
        return [_offer(r) for r in rows]

    async def withdraw_others(self, request_id: str, offer_id: str) -> None:
        """The request's other offers, once one is accepted."""
        await self.session.execute(
            update(offers)
            .where(
                offers.c.request_id == request_id,
                offers.c.offer_id != offer_id,
                offers.c.status.in_(("open", "pending_approval")),
            )
            .values(status="withdrawn")
        )


def _offer(r: Any) -> Offer:
    return Offer(
        offer_id=r.offer_id,
        loan_id=r.loan_id,
        request_id=r.request_id,
        quote_id=r.quote_id,
        plan_type=r.plan_type,
        quote=quote_from_json(r.quote),
        position=position_from_json(r.quote["position"]),
        status=r.status,
        made_by=r.made_by,
        needs_approval=r.needs_approval,
        approved_by=r.approved_by,
        expires_on=r.expires_on,
        forgiven_minor=r.forgiven_minor,
    )


class PlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, plan: Plan, event: Mapping[str, Any]) -> bool:
        """False when the loan already has an accepted or active plan."""
        added = await self.session.scalar(
            pg_insert(plans)
            .values(
                plan_id=plan.plan_id,
                loan_id=plan.loan_id,
                offer_id=plan.offer_id,
                plan_type=plan.plan_type,
                status=plan.status,
                schedule={**event, "instalments": instalments_to_json(plan.instalments)},
                accepted_on=plan.accepted_on,
            )
            .on_conflict_do_nothing()
            .returning(plans.c.plan_id)
        )
        return added is not None

    async def get(self, plan_id: str, *, lock: bool = False) -> Plan | None:
        stmt = select(plans).where(plans.c.plan_id == plan_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).first()
        return None if row is None else _plan(row)

    async def for_offer(self, offer_id: str) -> Plan | None:
        row = (
            await self.session.execute(select(plans).where(plans.c.offer_id == offer_id))
        ).first()
        return None if row is None else _plan(row)

    async def open_for(self, loan_id: str) -> Plan | None:
        """The loan's accepted or active plan."""
        row = (
            await self.session.execute(
                select(plans)
                .where(plans.c.loan_id == loan_id, plans.c.status.in_(("accepted", "active")))
                .with_for_update()
            )
        ).first()
        return None if row is None else _plan(row)

    async def activation_dates(self, loan_id: str) -> list[date]:
        rows = await self.session.execute(
            select(plans.c.activated_on).where(
                plans.c.loan_id == loan_id, plans.c.activated_on.is_not(None)
            )
        )
        return [r[0] for r in rows]

    async def activate(self, plan_id: str, on: date) -> None:
        await self.session.execute(
            update(plans).where(plans.c.plan_id == plan_id).values(status="active", activated_on=on)
        )

    async def close(
        self, plan_id: str, status: str, on: date, *, broken_seq: int | None = None
    ) -> None:
        await self.session.execute(
            update(plans)
            .where(plans.c.plan_id == plan_id)
            .values(status=status, closed_on=on, broken_seq=broken_seq)
        )


def _plan(r: Any) -> Plan:
    return Plan(
        plan_id=r.plan_id,
        loan_id=r.loan_id,
        offer_id=r.offer_id,
        plan_type=r.plan_type,
        status=r.status,
        instalments=instalments_from_json(r.schedule["instalments"]),
        accepted_on=r.accepted_on,
        activated_on=r.activated_on,
        closed_on=r.closed_on,
        broken_seq=r.broken_seq,
    )


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, step: AuditStep) -> None:
        await self.session.execute(
            insert(audit_trail).values(
                subject_kind=step.subject_kind,
                subject_id=step.subject_id,
                loan_id=step.loan_id,
                step=step.step,
                actor=step.actor,
                detail=dict(step.detail),
            )
        )


class PromiseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, loan_id: str, promise: Promise, source: str) -> bool:
        added = await self.session.scalar(
            pg_insert(promises)
            .values(
                promise_id=promise.promise_id,
                loan_id=loan_id,
                source=source,
                made_on=promise.made_on,
                promised_on=promise.due,
                amount_minor=promise.amount,
            )
            .on_conflict_do_nothing()
            .returning(promises.c.promise_id)
        )
        return added is not None

    async def for_loan(self, loan_id: str) -> list[PromiseRow]:
        rows = await self.session.execute(
            select(promises)
            .where(promises.c.loan_id == loan_id)
            .order_by(promises.c.made_on, promises.c.promise_id)
        )
        return [
            PromiseRow(
                Promise(r.promise_id, r.made_on, r.promised_on, r.amount_minor),
                r.loan_id,
                r.source,
                r.status,
                r.matched_minor,
            )
            for r in rows
        ]

    async def set_outcome(
        self, promise_id: str, status: str, matched_minor: int, resolved_on: date | None
    ) -> None:
        await self.session.execute(
            update(promises)
            .where(promises.c.promise_id == promise_id)
            .values(status=status, matched_minor=matched_minor, resolved_on=resolved_on)
        )


class ForbearanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, loan_id: str) -> Forborne | None:
        row = (
            await self.session.execute(select(forbearance).where(forbearance.c.loan_id == loan_id))
        ).first()
        if row is None:
            return None
        return Forborne(
            row.loan_id,
            ForbearanceClock(
                ForbearanceStatus(row.status),
                row.forborne_on,
                row.cure_ends_on,
                row.probation_starts_on,
                row.probation_ends_on,
            ),
        )

    async def save(self, loan_id: str, clock: ForbearanceClock) -> None:
        values = {
            "status": clock.status.value,
            "forborne_on": clock.forborne_on,
            "cure_ends_on": clock.cure_ends_on,
            "probation_starts_on": clock.probation_starts_on,
            "probation_ends_on": clock.probation_ends_on,
        }
        stmt = pg_insert(forbearance).values(loan_id=loan_id, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[forbearance.c.loan_id], set_={**values, "updated_at": func.now()}
            )
        )


class BusinessDayRepository:
    """The ledger's close-of-business markers, and the days reviewed here."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_marker(self, business_date: date, partition: int, partitions: int) -> bool:
        """True once the markers of every partition for ``business_date`` have been seen.
        Markers of different partitions are handled concurrently: a transaction-scoped
        advisory lock serialises them, so exactly one sees the full set (READ COMMITTED:
        after the lock, the count sees the other markers' commits)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MARKER_LOCK}
        )
        await self.session.execute(
            pg_insert(business_day_markers)
            .values(business_date=business_date, partition=partition, partitions=partitions)
            .on_conflict_do_nothing()
        )
        seen = await self.session.scalar(
            select(func.count())
            .select_from(business_day_markers)
            .where(business_day_markers.c.business_date == business_date)
        )
        return int(seen or 0) >= partitions

    async def mark_reviewed(self, business_date: date) -> bool:
        """False when the day was reviewed already."""
        added = await self.session.scalar(
            pg_insert(business_days)
            .values(business_date=business_date)
            .on_conflict_do_nothing()
            .returning(business_days.c.business_date)
        )
        return added is not None

    async def last_closed(self) -> date | None:
        last: date | None = await self.session.scalar(
            select(func.max(business_days.c.business_date))
        )
        return last


__all__ = [
    "AuditRepository",
    "BusinessDayRepository",
    "ForbearanceRepository",
    "LoanRepository",
    "OfferRepository",
    "PlanRepository",
    "ProductRepository",
    "PromiseRepository",
    "Quote",
    "QuoteRepository",
    "RequestRepository",
]
