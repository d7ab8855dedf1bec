"""The overdue service's REST API: explanations for borrowers, operations views and actions.

Every error is problem+json (lendkit.problems). POSTs that change state carry an
Idempotency-Key. Borrowers see only their own loans (404 otherwise).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from lendkit.auth import Principal, Role, ensure_may_see, require_roles
from lendkit.contracts.money import PositiveMinor
from lendkit.db import UnitOfWork
from lendkit.idempotency import IdempotencyKey, require_key, respond_once
from lendkit.openapi import AUTH, IDEMPOTENT, FreeText, LoanId, QueryText, problems, service_router
from lendkit.pagination import decode_cursor, encode_cursor
from lendkit.problems import ProblemError
from lendkit.runtime import runtime_of
from overdue import views
from overdue.adapters.blocked_loans import blocked_loans_on
from overdue.adapters.loan_book import LoanRecord, load_loan, policy_for
from overdue.domain.delinquency import Buckets
from overdue.domain.escalation import Stage
from overdue.domain.explain import Explanation
from overdue.domain.penalty import InvalidWaiver
from overdue.domain.policy import OverduePolicy
from overdue.entrypoints.schemas import (
    BlockedLoanPage,
    CureRate,
    ExplanationOut,
    OverdueLoanPage,
    PauseOut,
    PortfolioSummary,
    RollRates,
    WaiverOut,
)
from overdue.service_layer.pause import pause_loan, resume_loan
from overdue.service_layer.penalty_waivers import record_penalty_waiver

router = service_router("overdue")

Ops = Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN))]
Reader = Annotated[
    Principal, Depends(require_roles(Role.BORROWER, Role.OPS, Role.ADMIN, Role.SERVICE))
]
Staff = Annotated[Principal, Depends(require_roles(Role.OPS, Role.ADMIN, Role.SERVICE))]


def _not_found(loan_id: str) -> ProblemError:
    """The same answer as for another borrower's loan (``ensure_may_see``): whether a loan
    exists is not disclosed."""
    return ProblemError(404, "Not Found", "No such resource")


async def _as_of_or_latest(uow: UnitOfWork, as_of: date | None) -> date:
    if as_of is not None:
        return as_of
    latest = await views.latest_business_date(uow.session)
    if latest is None:
        raise ProblemError(
            409, "No business day closed", "Pass as_of: no close of business has run yet."
        )
    return latest


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
    request: Request,
    principal: Reader,
    as_of: date | None = None,
    locale: Annotated[str, Query(pattern=r"^(zh-CN|zh|en)$")] = "zh-CN",
) -> dict[str, Any]:
    async with runtime_of(request).uow() as uow:
        loan = await load_loan(uow.session, loan_id)
        if loan is None:
            raise _not_found(loan_id)
        ensure_may_see(principal, loan.borrower_id)
        on = await _as_of_or_latest(uow, as_of)
        try:
            day = await views.explanation_for(uow.session, loan, on)
        except views.ProductPolicyUnknown as exc:
            raise ProblemError(
                409,
                "Product policy unknown",
                f"Product {exc} has no valid overdue policy yet: the loan is blocked (no "
                "penalty, no overdue events) until it arrives.",
            ) from exc
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

    def body(self, as_of: date, rows: Sequence[Any], **extra: Any) -> dict[str, Any]:
        full = len(rows) == self.limit
        return {
            "as_of": as_of,
            **extra,
            "items": [row.__dict__ for row in rows],
            "next_cursor": encode_cursor({"after": rows[-1].loan_id}) if full else None,
        }


def _by_loan_id(
    cursor: QueryText = None, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> _ByLoanId:
    position = decode_cursor(cursor)
    return _ByLoanId(None if position is None else str(position.get("after", "")), limit)


ByLoanId = Annotated[_ByLoanId, Depends(_by_loan_id)]


@router.get(
    "/overdue-loans",
    summary="Loans with something past due, by bucket and stage",
    response_model=None,
    responses={200: {"model": OverdueLoanPage}, **problems(400, *AUTH, 409)},
)
async def list_overdue_loans(
    request: Request,
    _: Staff,
    page: ByLoanId,
    bucket: QueryText = None,
    stage: Stage | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    async with runtime_of(request).uow() as uow:
        on = await _as_of_or_latest(uow, as_of)
        rows = await views.overdue_loans(
            uow.session,
            as_of=on,
            bucket=bucket,
            stage=None if stage is None else stage.value,
            after=page.after,
            limit=page.limit,
        )
    return page.body(on, rows)


@router.get(
    "/blocked-loans",
    summary="Loans close of business could not review (their product has no valid policy)",
    response_model=None,
    responses={200: {"model": BlockedLoanPage}, **problems(400, *AUTH, 409)},
)
async def list_blocked_loans(
    request: Request,
    _: Staff,
    page: ByLoanId,
    as_of: date | None = None,
) -> dict[str, Any]:
    async with runtime_of(request).uow() as uow:
        on = await _as_of_or_latest(uow, as_of)
        total, rows = await blocked_loans_on(uow.session, on, after=page.after, limit=page.limit)
    return page.body(on, rows, loans_blocked=total)


@router.get(
    "/portfolio/summary",
    summary="Loans and amounts per bucket and currency",
    response_model=None,
    responses={200: {"model": PortfolioSummary}, **problems(*AUTH, 409)},
)
async def get_portfolio_summary(
    request: Request, _: Staff, as_of: date | None = None
) -> dict[str, Any]:
    async with runtime_of(request).uow() as uow:
        on = await _as_of_or_latest(uow, as_of)
        return {"as_of": on, "buckets": await views.portfolio_summary(uow.session, on)}


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
T = TypeVar("T")


async def _over_buckets(
    request: Request,
    period: _PortfolioPeriod,
    view: Callable[[AsyncSession, date, date, Buckets], Awaitable[T]],
) -> T:
    """Run a portfolio ``view`` over the period with the product's buckets (the default
    policy's when no product is named); buckets the history does not match are a 422."""
    async with runtime_of(request).uow() as uow:
        if period.product_code is None:
            buckets = OverduePolicy().buckets
        else:
            policy = await policy_for(uow.session, period.product_code)
            if policy is None:
                raise ProblemError(
                    404, "Not Found", f"No product {period.product_code} with a valid policy"
                )
            buckets = policy.buckets
        try:
            return await view(uow.session, period.start, period.end, buckets)
        except ValueError as exc:
            raise ProblemError(422, "Buckets do not match", str(exc)) from exc


@router.get(
    "/portfolio/roll-rates",
    summary="Roll-rate matrix between two business dates",
    response_model=None,
    responses={200: {"model": RollRates}, **problems(*AUTH, 404, 422)},
)
async def get_roll_rates(request: Request, _: Staff, period: PortfolioPeriod) -> dict[str, Any]:
    matrix = await _over_buckets(request, period, views.roll_rates)
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
async def get_cure_rate(request: Request, _: Staff, period: PortfolioPeriod) -> dict[str, Any]:
    rate = await _over_buckets(request, period, views.cure_rate_between)
    return {"from": period.start, "to": period.end, "cure_rate": _rate(rate)}


def _rate(value: object) -> str | None:
    return None if value is None else str(value)


# Ops actions -------------------------------------------------------------------------------


class PauseRequest(BaseModel):
    reason: FreeText = Field(min_length=1, max_length=500)


class WaiverRequest(BaseModel):
    amount_minor: PositiveMinor
    reason: FreeText = Field(min_length=1, max_length=500)
    business_date: date | None = None


async def _loan_for_update(uow: UnitOfWork, loan_id: str) -> LoanRecord:
    loan = await load_loan(uow.session, loan_id, lock=True)
    if loan is None:
        raise _not_found(loan_id)
    return loan


async def _set_paused(
    request: Request,
    loan_id: str,
    body: PauseRequest,
    principal: Principal,
    idempotency_key: str | None,
    *,
    paused: bool,
) -> JSONResponse:
    """Pause or resume accrual once per Idempotency-Key (audited with the actor)."""
    require_key(idempotency_key)
    change, action = (pause_loan, "pause") if paused else (resume_loan, "resume")
    async with runtime_of(request).uow() as uow:

        async def work() -> tuple[int, Any]:
            loan = await _loan_for_update(uow, loan_id)
            changed = await change(uow, loan, reason=body.reason, actor=principal.subject)
            return 200, {"loan_id": loan_id, "paused": paused, "changed": changed}

        return await respond_once(
            uow,
            caller=principal,
            key=idempotency_key,
            scope=f"{action}:{loan_id}",
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
    return await _set_paused(request, loan_id, body, principal, idempotency_key, paused=True)


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
    return await _set_paused(request, loan_id, body, principal, idempotency_key, paused=False)


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
    require_key(idempotency_key)
    async with runtime_of(request).uow() as uow:

        async def work() -> tuple[int, Any]:
            loan = await _loan_for_update(uow, loan_id)
            on = await _as_of_or_latest(uow, body.business_date)
            try:
                waiver = await record_penalty_waiver(
                    uow,
                    loan,
                    amount_minor=body.amount_minor,
                    reason=body.reason,
                    waived_by=principal.subject,
                    business_date=on,
                )
            except InvalidWaiver as exc:
                raise ProblemError(422, "Waiver not allowed", str(exc)) from exc
            first = waiver.parts[0]
            return 201, {
                "waiver_id": first.waiver_id,
                "loan_id": loan_id,
                "seq": first.seq,
                "amount_minor": waiver.amount_minor,
                "penalty_owed_minor": waiver.penalty_owed_minor,
                "business_date": on.isoformat(),
                "parts": [p.__dict__ for p in waiver.parts],
            }

        return await respond_once(
            uow,
            caller=principal,
            key=idempotency_key,
            scope=f"penalty-waiver:{loan_id}",
            body=body.model_dump(mode="json"),
            work=work,
        )
