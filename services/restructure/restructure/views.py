"""The read side: hardship requests with their quotes and offers, offers, plans, a loan's
restructuring status (plan, forbearance clocks, promises), lists by status, rates and the
audit trail. Queries go through ``adapters.read_models``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from restructure.adapters import read_models
from restructure.adapters.records import (
    Forborne,
    HardshipRequest,
    LoanView,
    Offer,
    Plan,
    PromiseRow,
    QuoteRow,
    position_of,
)
from restructure.domain.clock import business_today
from restructure.domain.errors import LoanNotFound
from restructure.domain.monitoring import days_past_due
from restructure.domain.plans import Quote, current_terms


async def find_loan(session: AsyncSession, loan_id: str) -> LoanView:
    loan = await read_models.loan(session, loan_id)
    if loan is None:
        raise LoanNotFound()
    return loan


async def today(session: AsyncSession, zone: str) -> date:
    return business_today(await read_models.last_closed(session), zone, datetime.now(UTC))


async def current_terms_of(session: AsyncSession, loan: LoanView, zone: str) -> Quote | None:
    """The loan as it stands today (None until its product's terms are known)."""
    if loan.terms is None:
        return None
    on = await today(session, zone)
    return current_terms(position_of(loan, loan.terms, on, days_past_due(loan.instalments, on)))


@dataclass(frozen=True)
class RequestDetail:
    request: HardshipRequest
    loan: LoanView
    quotes: list[QuoteRow]
    offers: list[Offer]
    current: Quote | None


async def request_detail(session: AsyncSession, request_id: str, zone: str) -> RequestDetail:
    request = await read_models.request(session, request_id)
    if request is None:
        raise LoanNotFound()
    loan = await find_loan(session, request.loan_id)
    return RequestDetail(
        request,
        loan,
        await read_models.quotes_of(session, request_id),
        await read_models.offers_of(session, request_id),
        await current_terms_of(session, loan, zone),
    )


async def find_offer(session: AsyncSession, offer_id: str) -> tuple[Offer, LoanView]:
    offer = await read_models.offer(session, offer_id)
    if offer is None:
        raise LoanNotFound()
    return offer, await find_loan(session, offer.loan_id)


async def find_plan(session: AsyncSession, plan_id: str) -> tuple[Plan, LoanView]:
    plan = await read_models.plan(session, plan_id)
    if plan is None:
        raise LoanNotFound()
    return plan, await find_loan(session, plan.loan_id)


@dataclass(frozen=True)
class LoanRestructuring:
    loan: LoanView
    today: date
    days_past_due: int
    plan: Plan | None
    forbearance: Forborne | None
    promises: list[PromiseRow]


async def loan_restructuring(session: AsyncSession, loan_id: str, zone: str) -> LoanRestructuring:
    loan = await find_loan(session, loan_id)
    on = await today(session, zone)
    return LoanRestructuring(
        loan,
        on,
        days_past_due(loan.instalments, on),
        await read_models.open_plan(session, loan_id),
        await read_models.forbearance_of(session, loan_id),
        await read_models.promises_of(session, loan_id),
    )


@dataclass(frozen=True)
class Rates:
    product_code: str
    plan_type: str
    counts: read_models.RateCounts
    uptake: Decimal | None
    completion: Decimal | None
    break_rate: Decimal | None
    promise_kept: Decimal | None


def _ratio(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


async def rates(session: AsyncSession) -> list[Rates]:
    """Uptake (accepted / offered), completion and break (of plans activated) and
    promise-kept (kept / resolved), by product and plan type."""
    return [
        Rates(
            c.product_code,
            c.plan_type,
            c,
            _ratio(c.offers_accepted, c.offers_made),
            _ratio(c.plans_completed, c.plans_activated),
            _ratio(c.plans_broken, c.plans_activated),
            _ratio(c.promises_kept, c.promises_resolved),
        )
        for c in await read_models.rate_counts(session)
    ]


async def requests_page(
    session: AsyncSession, status: str | None, after: str | None, limit: int
) -> list[HardshipRequest]:
    return await read_models.requests_page(session, status, after, limit)


async def offers_page(
    session: AsyncSession, status: str | None, after: str | None, limit: int
) -> list[Offer]:
    return await read_models.offers_page(session, status, after, limit)


async def plans_page(
    session: AsyncSession, status: str | None, after: str | None, limit: int
) -> list[Plan]:
    return await read_models.plans_page(session, status, after, limit)


async def audit_page(
    session: AsyncSession,
    *,
    loan_id: str | None,
    subject_id: str | None,
    after: int | None,
    limit: int,
) -> list[read_models.AuditRow]:
    return await read_models.audit_page(
        session, loan_id=loan_id, subject_id=subject_id, after=after, limit=limit
    )
