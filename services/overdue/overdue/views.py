"""The read side: explanations, overdue-loan listings and portfolio figures.

Every function takes the route's read session (``session: ReadSession``) and queries
through the adapters (repositories and ``adapters.read_models``); the rules (DPD, buckets,
roll rates, cure rate, the explanation texts) come from the domain. Refusals are
``overdue.domain.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.contracts.policies import OverduePolicySpec
from lendkit.errors import NotFound
from overdue.adapters.read_models import OverdueReadModels
from overdue.adapters.records import (
    BlockedLoan,
    BucketFiguresRow,
    DayProgress,
    OverdueLoanRow,
    TrackedLoan,
)
from overdue.adapters.repository import (
    BusinessDayRepository,
    HistoryRepository,
    LoanRepository,
    ProductRepository,
    WaiverRepository,
)
from overdue.domain.delinquency import Buckets
from overdue.domain.errors import (
    BucketsDoNotMatch,
    LoanNotFound,
    NoBusinessDayClosed,
    ProductNotKnown,
    ProductPolicyUnknown,
)
from overdue.domain.explain import Explanation, LoanFacts, explain
from overdue.domain.policy import OverduePolicy
from overdue.domain.portfolio import RollRateMatrix, cure_rate_of, matrix_from_counts


async def latest_business_date(session: AsyncSession) -> date | None:
    """The last date close of business ran for."""
    return await BusinessDayRepository(session).latest()


async def day_progress(session: AsyncSession) -> DayProgress:
    return await OverdueReadModels(session).day_progress()


async def product_policy(session: AsyncSession, code: str) -> OverduePolicySpec:
    """The product's overdue policy in full (every default applied); ``ProductPolicyUnknown``
    while none, or no valid one, has arrived."""
    published = await OverdueReadModels(session).published_policy(code)
    if published is None:
        raise ProductNotKnown(code)
    try:
        return OverduePolicySpec.model_validate(published)
    except ValidationError as exc:
        raise ProductPolicyUnknown(code) from exc


async def as_of_or_latest(session: AsyncSession, as_of: date | None) -> date:
    """``as_of``, or the last date close of business ran for (409 before any)."""
    if as_of is not None:
        return as_of
    latest = await latest_business_date(session)
    if latest is None:
        raise NoBusinessDayClosed()
    return latest


async def find_loan(session: AsyncSession, loan_id: str) -> TrackedLoan:
    """The loan (``LoanNotFound`` when unknown: the same answer as for another borrower's
    loan, so whether a loan exists is not disclosed)."""
    loan = await LoanRepository(session).get(loan_id)
    if loan is None:
        raise LoanNotFound()
    return loan


@dataclass(frozen=True)
class DayExplanation:
    explanation: Explanation
    provisional: bool
    """``as_of`` is not a closed business day: the figures are today's balances seen from
    that date, and may change."""


async def explanation_for(session: AsyncSession, loan: TrackedLoan, as_of: date) -> DayExplanation:
    """Explain ``loan`` on ``as_of``, penalty days and waivers up to ``as_of``.

    For a closed day the arrears are those its close of business recorded (``loan_days``):
    a payment valued later does not rewrite that day. A loan the close found nothing past
    due on (or did not review: paused) is explained from the current balances, as is a day
    not closed yet; the latter is marked provisional.
    """
    policy = await ProductRepository(session).policy_for(loan.product_code)
    if policy is None:
        raise ProductPolicyUnknown(loan.product_code)
    history = HistoryRepository(session)
    closed = await BusinessDayRepository(session).is_closed(as_of)
    recorded = await history.arrears_recorded(loan.loan_id, as_of) if closed else None
    arrears = recorded or await LoanRepository(session).arrears_on(loan.loan_id, as_of)
    days = await history.penalty_days_until(loan.loan_id, as_of)
    facts = LoanFacts(
        loan_id=loan.loan_id,
        currency=loan.currency,
        oldest_unpaid_due_date=arrears.oldest_unpaid_due_date,
        overdue=arrears.overdue,
        penalty_waived_minor=await WaiverRepository(session).waived_by(loan.loan_id, as_of),
    )
    return DayExplanation(explain(facts, as_of, policy, days), provisional=not closed)


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
    return await OverdueReadModels(session).overdue_loans(
        as_of=as_of, bucket=bucket, stage=stage, after=after, limit=limit
    )


async def blocked_loans(
    session: AsyncSession, on: date, *, after: str | None, limit: int
) -> tuple[int, list[BlockedLoan]]:
    """How many loans were blocked on ``on``, and a page of them in ``loan_id`` order."""
    return await OverdueReadModels(session).blocked_loans_on(on, after=after, limit=limit)


async def portfolio_summary(session: AsyncSession, as_of: date) -> list[BucketFiguresRow]:
    """Per bucket and currency: loans, past-due amount, outstanding principal."""
    return await OverdueReadModels(session).portfolio_summary(as_of)


async def buckets_of(session: AsyncSession, product_code: str | None) -> Buckets:
    """The product's buckets (the default policy's when no product is named)."""
    if product_code is None:
        return OverduePolicy().buckets
    policy = await ProductRepository(session).policy_for(product_code)
    if policy is None:
        raise NotFound(f"No product {product_code} with a valid policy")
    return policy.buckets


async def roll_rates(
    session: AsyncSession, start: date, end: date, buckets: Buckets
) -> RollRateMatrix:
    """Counted in the database (``adapters.read_models``), whatever the book's size; buckets
    the history does not match are ``BucketsDoNotMatch``."""
    moves = await OverdueReadModels(session).bucket_moves(start, end, buckets.current.name)
    try:
        return matrix_from_counts(moves, buckets)
    except ValueError as exc:
        raise BucketsDoNotMatch(str(exc)) from exc


async def cure_rate_between(
    session: AsyncSession, start: date, end: date, buckets: Buckets
) -> Decimal | None:
    matrix = await roll_rates(session, start, end, buckets)
    try:
        return cure_rate_of(matrix, buckets)
    except ValueError as exc:
        raise BucketsDoNotMatch(str(exc)) from exc
