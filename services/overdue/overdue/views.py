"""The read side: explanations, overdue-loan listings and portfolio figures.

Pure queries; the rules (DPD, buckets, roll rates, cure rate, the explanation texts)
come from the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from overdue.adapters.day_history import arrears_recorded, day_is_closed, waived_by
from overdue.adapters.loan_book import LoanRecord, arrears_on, load_loan, policy_for
from overdue.adapters.portfolio_book import bucket_moves
from overdue.adapters.tables import cob_runs, instalments, loans, penalty_days
from overdue.domain.delinquency import Buckets, days_past_due
from overdue.domain.explain import Explanation, LoanFacts, explain
from overdue.domain.penalty import CapApplied, PenaltyDay
from overdue.domain.portfolio import RollRateMatrix, cure_rate_of, matrix_from_counts


async def latest_business_date(session: AsyncSession) -> date | None:
    """The last date close of business ran for."""
    latest: date | None = await session.scalar(select(func.max(cob_runs.c.business_date)))
    return latest


class ProductPolicyUnknown(LookupError):
    """The loan's product has no valid overdue policy yet: nothing can be explained (its
    loans are blocked: no penalty, no DPD-driven events until the policy arrives)."""


@dataclass(frozen=True)
class DayExplanation:
    explanation: Explanation
    provisional: bool
    """``as_of`` is not a closed business day: the figures are today's balances seen from
    that date, and may change."""


async def explanation_for(session: AsyncSession, loan: LoanRecord, as_of: date) -> DayExplanation:
    """Explain ``loan`` on ``as_of``, penalty days and waivers up to ``as_of``.

    For a closed day the arrears are those its close of business recorded (``loan_days``):
    a payment valued later does not rewrite that day. A loan the close found nothing past
    due on (or did not review: paused) is explained from the current balances, as is a day
    not closed yet; the latter is marked provisional.
    """
    policy = await policy_for(session, loan.product_code)
    if policy is None:
        raise ProductPolicyUnknown(loan.product_code)
    closed = await day_is_closed(session, as_of)
    recorded = await arrears_recorded(session, loan.loan_id, as_of) if closed else None
    arrears = recorded or await arrears_on(session, loan.loan_id, as_of)
    rows = await session.execute(
        select(penalty_days)
        .where(penalty_days.c.loan_id == loan.loan_id, penalty_days.c.business_date <= as_of)
        .order_by(penalty_days.c.business_date)
    )
    days = [
        PenaltyDay(
            on=r.business_date,
            dpd=r.dpd,
            base_minor=r.base_minor,
            rate=Decimal(r.rate),
            exact=Decimal(r.exact),
            booked_minor=r.booked_minor,
            cap_applied=None if r.cap_applied is None else CapApplied(r.cap_applied),
            forgone_minor=r.forgone_minor,
        )
        for r in rows
    ]
    facts = LoanFacts(
        loan_id=loan.loan_id,
        currency=loan.currency,
        oldest_unpaid_due_date=arrears.oldest_unpaid_due_date,
        overdue=arrears.overdue,
        penalty_waived_minor=await waived_by(session, loan.loan_id, as_of),
    )
    return DayExplanation(explain(facts, as_of, policy, days), provisional=not closed)


async def find_loan(session: AsyncSession, loan_id: str) -> LoanRecord | None:
    return await load_loan(session, loan_id)


@dataclass(frozen=True)
class OverdueLoanRow:
    loan_id: str
    product_code: str
    currency: str
    oldest_unpaid_due_date: date
    days_past_due: int
    bucket: str
    stage: str
    in_arrears: bool
    paused: bool
    overdue_minor: int


async def overdue_loans(
    session: AsyncSession,
    *,
    as_of: date,
    bucket: str | None,
    stage: str | None,
    after: str | None,
    limit: int,
) -> list[OverdueLoanRow]:
    """Loans with something past due on ``as_of``, by loan id (keyset pagination)."""
    past_due = (
        select(
            func.coalesce(
                func.sum(
                    instalments.c.principal_minor
                    + instalments.c.interest_minor
                    + instalments.c.penalty_minor
                    + instalments.c.fee_minor
                ),
                0,
            )
        )
        .where(instalments.c.loan_id == loans.c.loan_id, instalments.c.due_date < as_of)
        .scalar_subquery()
    )
    query: Select[Any] = select(loans, past_due.label("overdue_minor")).where(
        loans.c.oldest_unpaid_due_date < as_of
    )
    if bucket is not None:
        query = query.where(loans.c.bucket == bucket)
    if stage is not None:
        query = query.where(loans.c.stage == stage)
    if after is not None:
        query = query.where(loans.c.loan_id > after)
    rows = await session.execute(query.order_by(loans.c.loan_id).limit(limit))
    return [
        OverdueLoanRow(
            loan_id=r.loan_id,
            product_code=r.product_code,
            currency=r.currency,
            oldest_unpaid_due_date=r.oldest_unpaid_due_date,
            days_past_due=days_past_due(r.oldest_unpaid_due_date, as_of),
            bucket=r.bucket,
            stage=r.stage,
            in_arrears=r.in_arrears,
            paused=r.paused,
            overdue_minor=int(r.overdue_minor),
        )
        for r in rows
    ]


async def portfolio_summary(session: AsyncSession, as_of: date) -> list[dict[str, Any]]:
    """Per bucket and currency: loans, past-due amount, outstanding principal."""
    per_loan = (
        select(
            instalments.c.loan_id,
            func.sum(
                case(
                    (
                        instalments.c.due_date < as_of,
                        instalments.c.principal_minor
                        + instalments.c.interest_minor
                        + instalments.c.penalty_minor
                        + instalments.c.fee_minor,
                    ),
                    else_=0,
                )
            ).label("past_due"),
            func.sum(instalments.c.principal_minor).label("principal"),
        )
        .group_by(instalments.c.loan_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            loans.c.bucket,
            loans.c.currency,
            func.count().label("loans"),
            func.coalesce(func.sum(per_loan.c.past_due), 0).label("past_due"),
            func.coalesce(func.sum(per_loan.c.principal), 0).label("principal"),
        )
        .select_from(loans.outerjoin(per_loan, per_loan.c.loan_id == loans.c.loan_id))
        .group_by(loans.c.bucket, loans.c.currency)
        .order_by(loans.c.currency, loans.c.bucket)
    )
    return [
        {
            "bucket": r.bucket,
            "currency": r.currency,
            "loans": int(r.loans),
            "past_due_minor": int(r.past_due),
            "outstanding_principal_minor": int(r.principal),
        }
        for r in rows
    ]


async def roll_rates(
    session: AsyncSession, start: date, end: date, buckets: Buckets
) -> RollRateMatrix:
    """Counted in the database (``adapters.portfolio_book``), whatever the book's size."""
    return matrix_from_counts(
        await bucket_moves(session, start, end, buckets.current.name), buckets
    )


async def cure_rate_between(
    session: AsyncSession, start: date, end: date, buckets: Buckets
) -> Decimal | None:
    return cure_rate_of(await roll_rates(session, start, end, buckets), buckets)
