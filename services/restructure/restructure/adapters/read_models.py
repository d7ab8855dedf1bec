"""The read side's queries (``views`` calls them on the route's read session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from restructure.adapters.records import (
    Forborne,
    HardshipRequest,
    LoanView,
    Offer,
    Plan,
    PromiseRow,
    QuoteRow,
)
from restructure.adapters.repository import (
    BusinessDayRepository,
    ForbearanceRepository,
    LoanRepository,
    OfferRepository,
    PlanRepository,
    PromiseRepository,
    QuoteRepository,
    RequestRepository,
    _offer,
    _plan,
    _request,
)
from restructure.adapters.tables import audit_trail, loans, offers, plans, promises, requests


async def loan(session: AsyncSession, loan_id: str) -> LoanView | None:
    return await LoanRepository(session).get(loan_id)


async def last_closed(session: AsyncSession) -> date | None:
    return await BusinessDayRepository(session).last_closed()


async def request(session: AsyncSession, request_id: str) -> HardshipRequest | None:
    return await RequestRepository(session).get(request_id)


async def quotes_of(session: AsyncSession, request_id: str) -> list[QuoteRow]:
    return await QuoteRepository(session).for_request(request_id)


async def offers_of(session: AsyncSession, request_id: str) -> list[Offer]:
    return await OfferRepository(session).for_request(request_id)


async def offer(session: AsyncSession, offer_id: str) -> Offer | None:
    return await OfferRepository(session).get(offer_id)


async def plan(session: AsyncSession, plan_id: str) -> Plan | None:
    return await PlanRepository(session).get(plan_id)


async def open_plan(session: AsyncSession, loan_id: str) -> Plan | None:
    row = (
        await session.execute(
            select(plans)
            .where(plans.c.loan_id == loan_id)
            .order_by(plans.c.accepted_on.desc(), plans.c.plan_id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else _plan(row)


async def promises_of(session: AsyncSession, loan_id: str) -> list[PromiseRow]:
    return await PromiseRepository(session).for_loan(loan_id)


async def forbearance_of(session: AsyncSession, loan_id: str) -> Forborne | None:
    return await ForbearanceRepository(session).get(loan_id)


def _page(table: Table, key: str, status: str | None, after: str | None, limit: int) -> Any:
    stmt = select(table)
    if status is not None:
        stmt = stmt.where(table.c.status == status)
    if after is not None:
        stmt = stmt.where(table.c[key] > after)
    return stmt.order_by(table.c[key]).limit(limit + 1)


async def requests_page(
    session: AsyncSession, status: str | None, after: str | None, limit: int
) -> list[HardshipRequest]:
    rows = await session.execute(_page(requests, "request_id", status, after, limit))
    return [_request(r) for r in rows]


async def offers_page(
    session: AsyncSession, status: str | None, after: str | None, limit: int
) -> list[Offer]:
    rows = await session.execute(_page(offers, "offer_id", status, after, limit))
    return [_offer(r) for r in rows]


async def plans_page(
    session: AsyncSession, status: str | None, after: str | None, limit: int
) -> list[Plan]:
    rows = await session.execute(_page(plans, "plan_id", status, after, limit))
    return [_plan(r) for r in rows]


@dataclass(frozen=True)
class AuditRow:
    id: int
    subject_kind: str
    subject_id: str
    loan_id: str
    step: str
    actor: str
    at: datetime
    detail: dict[str, Any]


async def audit_page(
    session: AsyncSession,
    *,
    loan_id: str | None,
    subject_id: str | None,
    after: int | None,
    limit: int,
) -> list[AuditRow]:
    stmt = select(audit_trail)
    if loan_id is not None:
        stmt = stmt.where(audit_trail.c.loan_id == loan_id)
    if subject_id is not None:
        stmt = stmt.where(audit_trail.c.subject_id == subject_id)
    if after is not None:
        stmt = stmt.where(audit_trail.c.id > after)
    rows = await session.execute(stmt.order_by(audit_trail.c.id).limit(limit + 1))
    return [
        AuditRow(r.id, r.subject_kind, r.subject_id, r.loan_id, r.step, r.actor, r.at, r.detail)
        for r in rows
    ]


@dataclass(frozen=True)
class RateCounts:
    """Counts by product and plan type that the rates are made of."""

    product_code: str
    plan_type: str
    offers_made: int
    offers_accepted: int
    plans_activated: int
    plans_completed: int
    plans_broken: int
    promises_resolved: int
    promises_kept: int


async def rate_counts(session: AsyncSession) -> list[RateCounts]:
    def count_if(condition: Any) -> Any:
        return func.count(case((condition, 1)))

    offer_rows = await session.execute(
        select(
            loans.c.product_code,
            offers.c.plan_type,
            count_if(offers.c.status.in_(("open", "accepted", "declined", "expired", "withdrawn"))),
            count_if(offers.c.status == "accepted"),
        )
        .join(loans, loans.c.loan_id == offers.c.loan_id)
        .group_by(loans.c.product_code, offers.c.plan_type)
    )
    plan_rows = await session.execute(
        select(
            loans.c.product_code,
            plans.c.plan_type,
            count_if(plans.c.activated_on.is_not(None)),
            count_if(plans.c.status == "completed"),
            count_if(plans.c.status == "broken"),
        )
        .join(loans, loans.c.loan_id == plans.c.loan_id)
        .group_by(loans.c.product_code, plans.c.plan_type)
    )
    promise_rows = await session.execute(
        select(
            loans.c.product_code,
            count_if(promises.c.status != "open"),
            count_if(promises.c.status == "kept"),
        )
        .join(loans, loans.c.loan_id == promises.c.loan_id)
        .group_by(loans.c.product_code)
    )
    counts: dict[tuple[str, str], list[int]] = {}
    for code, type_, made, accepted in offer_rows:
        counts.setdefault((code, type_), [0] * 7)[0:2] = [made, accepted]
    for code, type_, activated, completed, broken in plan_rows:
        counts.setdefault((code, type_), [0] * 7)[2:5] = [activated, completed, broken]
    for code, resolved, kept in promise_rows:
        counts.setdefault((code, "promise_to_pay"), [0] * 7)[5:7] = [resolved, kept]
    return [RateCounts(code, type_, *values) for (code, type_), values in sorted(counts.items())]
