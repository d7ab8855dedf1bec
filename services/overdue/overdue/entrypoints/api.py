"""The overdue service's REST API: explanations for borrowers, operations views and actions.

Routes parse the request, call a command (``service_layer.commands``) or a view
(``overdue.views``, on the route's read session) and map the result to the documented
shapes (``entrypoints.schemas``). Refusals are ``lendkit.errors`` kinds raised by commands
and views, answered as problem+json by the app. POSTs that change state go through
``idempotent_post`` (Idempotency-Key). Borrowers see only their own loans (404 otherwise).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.auth import Anyone, Ops, Principal, Staff, ensure_may_see
from lendkit.idempotency import IdempotencyKey, idempotent_post
from lendkit.openapi import (
    AUTH,
    IDEMPOTENT,
    LoanId,
    QueryText,
    as_of_query,
    problems,
    service_router,
)
from lendkit.pagination import Page, cursor_after, paginate
from lendkit.problems import ProblemError
from lendkit.runtime import ReadSession
from overdue import views
from overdue.domain.delinquency import Buckets
from overdue.domain.escalation import Stage
from overdue.domain.explain import Explanation
from overdue.entrypoints.schemas import (
    BlockedLoanOut,
    BlockedLoanPage,
    BucketFigures,
    BusinessClockOut,
    CureRate,
    ExplanationOut,
    OpenDayOut,
    OverdueLoan,
    OverdueLoanPage,
    PauseOut,
    PauseRequest,
    PortfolioSummary,
    ProductPolicyOut,
    RollRates,
    StageStart,
    WaiverOut,
    WaiverPartOut,
    WaiverRequest,
)
from overdue.service_layer import commands
from overdue.service_layer.unit_of_work import OverdueUnitOfWork

router = service_router("overdue")

#: Listings, figures and explanations answer for a business day.
AsOf = Annotated[
    date | None,
    as_of_query("the last business day closed here (`last_closed_day` of GET /business-clock)"),
]
T = TypeVar("T")
R = TypeVar("R")


# Borrower and ops: why do I owe what I owe ---------------------------------------------


@router.get(
    "/loans/{loan_id}/explanation",
    summary="DPD, bucket, graces and penalty days",
    description="For a closed business day, what that day's close of business recorded "
    "(a payment valued later does not change it); a day not closed yet is answered from "
    "the current balances and marked provisional.",
    response_model=None,
    responses={200: {"model": ExplanationOut}, **problems(*AUTH, 404, 409)},
)
async def get_explanation(
    loan_id: LoanId,
    principal: Anyone,
    session: ReadSession,
    as_of: AsOf = None,
    locale: Annotated[str, Query(pattern=r"^(zh-CN|zh|en)$")] = "zh-CN",
) -> dict[str, Any]:
    loan = await views.find_loan(session, loan_id)
    ensure_may_see(principal, loan.borrower_id)
    on = await views.as_of_or_latest(session, as_of)
    day = await views.explanation_for(session, loan, on)
    return {**_explanation_body(day.explanation, locale), "provisional": day.provisional}


def _explanation_body(e: Explanation, locale: str) -> dict[str, Any]:
    return {
        "loan_id": e.loan_id,
        "as_of": e.as_of,
        "currency": e.currency,
        "oldest_unpaid_due_date": e.oldest_unpaid_due_date,
        "days_past_due": e.dpd,
        "bucket": e.bucket,
        "stage": e.stage.value,
        "in_arrears": e.in_arrears,
        "overdue": {
            "principal_minor": e.overdue.principal_minor,
            "interest_minor": e.overdue.interest_minor,
            "penalty_minor": e.overdue.penalty_minor,
            "fee_minor": e.overdue.fees_minor,
            "total_minor": e.overdue.total_minor,
        },
        "arrears_grace": {"days": e.arrears_grace.days, "ends_on": e.arrears_grace.ends_on},
        "penalty_grace": {"days": e.penalty_grace.days, "ends_on": e.penalty_grace.ends_on},
        "overdue_from": e.overdue_from,
        "penalty_from": e.penalty_from,
        "penalty_base": e.penalty_base.value,
        "penalty_daily_rate": str(e.penalty_rate),
        "penalty_days": [
            {
                "business_date": d.on,
                "days_past_due": d.dpd,
                "base_minor": d.base_minor,
                "rate": str(d.rate),
                "exact": str(d.exact),
                "booked_minor": d.booked_minor,
                "forgone_minor": d.forgone_minor,
                "cap_applied": None if d.cap_applied is None else d.cap_applied.value,
            }
            for d in e.penalty_days
        ],
        "penalty_booked_minor": e.penalty_booked_minor,
        "penalty_waived_minor": e.penalty_waived_minor,
        "penalty_owed_minor": e.penalty_owed_minor,
        "cap_applied": None if e.cap_applied is None else e.cap_applied.value,
        "capped_since": e.capped_since,
        "locale": locale,
        "text": e.text(locale),
        "texts": {"zh-CN": e.text_zh_cn, "en": e.text_en},
    }


# Ops: who is overdue, portfolio health ---------------------------------------------------


@dataclass(frozen=True)
class _ByLoanId:
    """A page of a listing in ``loan_id`` order: after the cursor's loan, at most ``limit``."""

    after: str | None
    limit: int

    @property
    def read(self) -> int:
        """How many rows to read: one more than the page, to know whether another follows."""
        return self.limit + 1

    def page(self, rows: Sequence[R], item: Callable[[R], T], key: Callable[[R], str]) -> Page[T]:
        return paginate(rows, self.limit, key=key, item=item)


def _by_loan_id(
    cursor: QueryText = None, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> _ByLoanId:
    return _ByLoanId(cursor_after(cursor), limit)


ByLoanId = Annotated[_ByLoanId, Depends(_by_loan_id)]


@router.get(
    "/products/{code}/policy",
    summary="A product's overdue policy: bucket names, escalation stages, rates and caps",
    response_model=ProductPolicyOut,
    responses=problems(*AUTH, 404, 409),
)
async def get_product_policy(code: LoanId, session: ReadSession, _: Anyone) -> ProductPolicyOut:
    policy = await views.product_policy(session, code)
    return ProductPolicyOut(
        product_code=code,
        buckets=[bucket.name for bucket in policy.buckets],
        stages=[
            StageStart(stage=Stage(name), from_dpd=dpd) for name, dpd in policy.escalation.starts()
        ],
        policy=policy,
    )


@router.get(
    "/business-clock",
    summary="How far this service has closed the ledger's business days",
    response_model=BusinessClockOut,
)
async def business_clock(session: ReadSession, _: Anyone) -> BusinessClockOut:
    progress = await views.day_progress(session)
    closing = None
    if progress.open_day is not None and progress.partitions is not None:
        closing = OpenDayOut(
            business_date=progress.open_day,
            markers_received=progress.markers_received,
            partitions=progress.partitions,
            review_started=progress.review_started,
        )
    return BusinessClockOut(
        first_closed_day=progress.first_closed,
        last_closed_day=progress.last_closed,
        last_closed_at=progress.last_closed_at,
        closing=closing,
    )


@router.get(
    "/overdue-loans",
    summary="Loans with something past due, by bucket and stage",
    response_model=None,
    responses={200: {"model": OverdueLoanPage}, **problems(400, *AUTH, 409)},
)
async def list_overdue_loans(
    _: Staff,
    session: ReadSession,
    page: ByLoanId,
    bucket: QueryText = None,
    stage: Stage | None = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    on = await views.as_of_or_latest(session, as_of)
    rows = await views.overdue_loans(
        session,
        as_of=on,
        bucket=bucket,
        stage=None if stage is None else stage.value,
        after=page.after,
        limit=page.read,
    )
    listed = page.page(rows, lambda r: OverdueLoan(**asdict(r)), key=lambda r: r.loan_id)
    return {"as_of": on, **listed.model_dump()}


@router.get(
    "/blocked-loans",
    summary="Loans close of business could not review (their product has no valid policy)",
    response_model=None,
    responses={200: {"model": BlockedLoanPage}, **problems(400, *AUTH, 409)},
)
async def list_blocked_loans(
    _: Staff,
    session: ReadSession,
    page: ByLoanId,
    as_of: AsOf = None,
) -> dict[str, Any]:
    on = await views.as_of_or_latest(session, as_of)
    total, rows = await views.blocked_loans(session, on, after=page.after, limit=page.read)
    listed = page.page(rows, lambda r: BlockedLoanOut(**asdict(r)), key=lambda r: r.loan_id)
    return {"as_of": on, "loans_blocked": total, **listed.model_dump()}


@router.get(
    "/portfolio/summary",
    summary="Loans and amounts per bucket and currency",
    response_model=None,
    responses={200: {"model": PortfolioSummary}, **problems(*AUTH, 409)},
)
async def get_portfolio_summary(
    _: Staff, session: ReadSession, as_of: AsOf = None
) -> dict[str, Any]:
    on = await views.as_of_or_latest(session, as_of)
    figures = await views.portfolio_summary(session, on)
    return {"as_of": on, "buckets": [BucketFigures(**asdict(f)).model_dump() for f in figures]}


@dataclass(frozen=True)
class _PortfolioPeriod:
    """The query of the portfolio views: a period and the product whose buckets apply."""

    start: date
    end: date
    product_code: str | None


def _portfolio_period(
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    product_code: QueryText = None,
) -> _PortfolioPeriod:
    if end < start:
        raise ProblemError(422, "Invalid period", "'to' must not be before 'from'.")
    return _PortfolioPeriod(start, end, product_code)


PortfolioPeriod = Annotated[_PortfolioPeriod, Depends(_portfolio_period)]


async def _over_buckets(
    session: AsyncSession,
    period: _PortfolioPeriod,
    view: Callable[[AsyncSession, date, date, Buckets], Awaitable[T]],
) -> T:
    """Run a portfolio ``view`` over the period with the product's buckets (the default
    policy's when no product is named)."""
    buckets = await views.buckets_of(session, period.product_code)
    return await view(session, period.start, period.end, buckets)


@router.get(
    "/portfolio/roll-rates",
    summary="Roll-rate matrix between two business dates",
    response_model=None,
    responses={200: {"model": RollRates}, **problems(*AUTH, 404, 422)},
)
async def get_roll_rates(_: Staff, session: ReadSession, period: PortfolioPeriod) -> dict[str, Any]:
    matrix = await _over_buckets(session, period, views.roll_rates)
    return {
        "from": period.start,
        "to": period.end,
        "buckets": list(matrix.bucket_names),
        "counts": matrix.as_dict(),
        "rates": {
            a: {b: _rate(matrix.roll_rate(a, b)) for b in matrix.bucket_names}
            for a in matrix.bucket_names
        },
        "left_book": matrix.left_book,
        "joined_book": matrix.joined_book,
    }


@router.get(
    "/portfolio/cure-rate",
    summary="Share of delinquent loans current again",
    response_model=None,
    responses={200: {"model": CureRate}, **problems(*AUTH, 404, 422)},
)
async def get_cure_rate(_: Staff, session: ReadSession, period: PortfolioPeriod) -> dict[str, Any]:
    rate = await _over_buckets(session, period, views.cure_rate_between)
    return {"from": period.start, "to": period.end, "cure_rate": _rate(rate)}


def _rate(value: object) -> str | None:
    return None if value is None else str(value)


# Ops actions -------------------------------------------------------------------------------


async def _change_pause(
    request: Request,
    loan_id: str,
    body: PauseRequest,
    principal: Principal,
    key: str | None,
    *,
    pause: bool,
) -> JSONResponse:
    """Pause (or resume) once per Idempotency-Key: one scope per direction."""
    change = commands.pause if pause else commands.resume

    async def work(uow: OverdueUnitOfWork) -> tuple[int, Any]:
        result = await change(uow, loan_id, reason=body.reason, actor=principal.subject)
        return 200, PauseOut(**asdict(result)).model_dump()

    return await idempotent_post(
        request,
        caller=principal,
        key=key,
        scope=f"{'pause' if pause else 'resume'}:{loan_id}",
        body=body.model_dump(),
        work=work,
    )


@router.post(
    "/loans/{loan_id}/pause",
    summary="Pause delinquency and penalty accrual",
    responses={200: {"model": PauseOut}, **problems(400, *AUTH, 404)},
    openapi_extra=IDEMPOTENT,
)
async def post_pause(
    loan_id: LoanId,
    body: PauseRequest,
    request: Request,
    principal: Ops,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    """Pause accrual once per Idempotency-Key (audited with the actor)."""
    return await _change_pause(request, loan_id, body, principal, idempotency_key, pause=True)


@router.post(
    "/loans/{loan_id}/resume",
    summary="Resume delinquency and penalty accrual",
    responses={200: {"model": PauseOut}, **problems(400, *AUTH, 404)},
    openapi_extra=IDEMPOTENT,
)
async def post_resume(
    loan_id: LoanId,
    body: PauseRequest,
    request: Request,
    principal: Ops,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    """Resume accrual once per Idempotency-Key (audited with the actor)."""
    return await _change_pause(request, loan_id, body, principal, idempotency_key, pause=False)


@router.post(
    "/loans/{loan_id}/penalty-waivers",
    status_code=201,
    summary="Waive penalty (audited), spread over instalments oldest first",
    description="The waiver reduces penalty assessed on or before its business date, "
    "instalment by instalment, oldest first. An amount that cannot apply whole (more than "
    "the penalty assessed on or before that date and not yet waived) is a 422.",
    responses={201: {"model": WaiverOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_penalty_waiver(
    loan_id: LoanId,
    body: WaiverRequest,
    request: Request,
    principal: Ops,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: OverdueUnitOfWork) -> tuple[int, Any]:
        waiver = await commands.waive_penalty(
            uow,
            loan_id,
            amount_minor=body.amount_minor,
            reason=body.reason,
            waived_by=principal.subject,
            business_date=body.business_date,
        )
        first = waiver.parts[0]
        out = WaiverOut(
            waiver_id=first.waiver_id,
            loan_id=waiver.loan_id,
            seq=first.seq,
            amount_minor=waiver.amount_minor,
            penalty_owed_minor=waiver.penalty_owed_minor,
            business_date=waiver.business_date,
            parts=[WaiverPartOut(**asdict(p)) for p in waiver.parts],
        )
        return 201, out.model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope=f"penalty-waiver:{loan_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )
