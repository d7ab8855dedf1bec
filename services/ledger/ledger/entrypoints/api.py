"""The ledger's REST API for mobile-app backends (borrowers see only their own loans) and ops."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from ledger import views
from ledger.adapters.business_days import last_closed_day
from ledger.adapters.records import LoanRecord
from ledger.adapters.repository import LoanRepository
from ledger.domain import LedgerDomainError
from ledger.entrypoints.schemas import (
    CloseOfBusinessIn,
    CloseOfBusinessOut,
    Journal,
    LoanDetail,
    LoanIn,
    LoanPage,
    Owed,
    PaymentIn,
    PaymentList,
    PaymentOut,
    ProductIn,
    Reconciliation,
    ReversalIn,
    ReversalOut,
    Statement,
)
from ledger.service_layer import handlers
from ledger.service_layer.clock import LedgerClock
from ledger.service_layer.close_of_business import close_business_day
from ledger.service_layer.errors import Conflict, Forbidden, Invalid, LedgerError, NotFound
from ledger.service_layer.payments import record_payment, reverse_payment
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from ledger.settings import Settings
from lendkit.auth import Principal, Role, ensure_may_see, require_roles
from lendkit.contracts.ledger import LoanDisbursed, ProductPublished
from lendkit.idempotency import IdempotencyKey, require_key, respond_once
from lendkit.openapi import (
    AUTH,
    IDEMPOTENT,
    BusinessDate,
    LoanId,
    QueryText,
    problems,
    service_router,
)
from lendkit.pagination import decode_cursor, encode_cursor
from lendkit.problems import ProblemError
from lendkit.runtime import runtime_of

router = service_router("ledger")


ANYONE = require_roles(Role.BORROWER, Role.OPS, Role.ADMIN, Role.SERVICE)
STAFF = require_roles(Role.OPS, Role.ADMIN, Role.SERVICE)
OPS = require_roles(Role.OPS, Role.ADMIN)
#: Who may assert that money was received: the payment channel (service) and ops/admin.
#: Not a borrower: a borrower's app starts a payment with the payment provider, and the
#: channel posts it here once the provider confirmed the money moved.
PAYERS = require_roles(Role.SERVICE, Role.OPS, Role.ADMIN)
BACK_DATERS = frozenset({Role.OPS, Role.ADMIN})


@asynccontextmanager
async def as_problems() -> AsyncIterator[None]:
    """Service-layer and domain refusals as problem+json."""
    try:
        yield
    except NotFound as exc:
        raise ProblemError(404, "Not Found", str(exc)) from exc
    except Conflict as exc:
        raise ProblemError(409, "Conflict", str(exc)) from exc
    except Forbidden as exc:
        raise ProblemError(403, "Forbidden", str(exc)) from exc
    except Invalid as exc:
        errors = (
            None
            if exc.field is None
            else [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
        )
        raise ProblemError(422, "Unprocessable", str(exc), errors=errors) from exc
    except LedgerDomainError as exc:
        raise ProblemError(422, "Unprocessable", str(exc)) from exc
    except LedgerError as exc:  # pragma: no cover - every subclass is mapped above
        raise ProblemError(400, "Bad Request", str(exc)) from exc


def _clock(request: Request) -> LedgerClock:
    return LedgerClock.from_settings(cast(Settings, runtime_of(request).settings))


async def _idempotent(
    request: Request,
    caller: Principal,
    key: str | None,
    scope: str,
    body: Any,
    work: Callable[[LedgerUnitOfWork], Awaitable[tuple[int, Any]]],
    before: Callable[[LedgerUnitOfWork], Awaitable[None]] | None = None,
) -> JSONResponse:
    """Run ``work`` once per Idempotency-Key; replays get the stored response."""
    require_key(key)
    async with as_problems(), runtime_of(request).uow() as uow:
        if before is not None:
            await before(uow)
        return await respond_once(
            uow, caller=caller, key=key, scope=scope, body=body, work=lambda: work(uow)
        )


async def _visible_loan(request: Request, principal: Principal, loan_id: str) -> LoanRecord:
    async with runtime_of(request).session_factory() as session:
        loan = await LoanRepository(session).get(loan_id)
    if loan is None:
        raise ProblemError(404, "Not Found", "No such resource")
    ensure_may_see(principal, loan.borrower_id)
    return loan


@router.post(
    "/products",
    status_code=201,
    summary="Create a loan product (published to the other services)",
    responses={201: {"model": ProductPublished}, **problems(400, *AUTH, 409, 422)},
    openapi_extra=IDEMPOTENT,
)
async def create_product(
    body: ProductIn,
    request: Request,
    idempotency_key: IdempotencyKey,
    principal: Principal = Depends(require_roles(Role.ADMIN)),
) -> JSONResponse:
    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        published = await handlers.create_product(uow, body.to_domain())
        return 201, published.model_dump(mode="json")

    return await _idempotent(
        request, principal, idempotency_key, "ledger:products", body.model_dump(mode="json"), work
    )


@router.post(
    "/loans",
    status_code=201,
    summary="Create and disburse a loan",
    responses={201: {"model": LoanDisbursed}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def create_loan(
    body: LoanIn,
    request: Request,
    idempotency_key: IdempotencyKey,
    principal: Principal = Depends(STAFF),
) -> JSONResponse:
    try:
        ZoneInfo(body.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProblemError(422, "Unprocessable", f"unknown timezone {body.timezone!r}") from exc

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        disbursed = await handlers.disburse_loan(
            uow,
            loan_id=body.loan_id or str(uuid.uuid4()),
            borrower_id=body.borrower_id,
            product_code=body.product_code,
            principal=body.principal_minor,
            disbursed_on=body.disbursed_on,
            first_due_date=body.first_due_date,
            timezone=body.timezone,
        )
        return 201, disbursed.model_dump(mode="json")

    return await _idempotent(
        request, principal, idempotency_key, "ledger:loans", body.model_dump(mode="json"), work
    )


@router.get(
    "/loans",
    summary="Loans (a borrower sees only their own), by loan id, cursor-paginated",
    response_model=None,
    responses={200: {"model": LoanPage}, **problems(400, *AUTH)},
)
async def list_loans(
    request: Request,
    principal: Principal = Depends(ANYONE),
    borrower_id: QueryText = None,
    status: str | None = Query(default=None, pattern="^(active|settled)$"),
    cursor: QueryText = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> dict[str, Any]:
    if not principal.is_staff:
        borrower_id = principal.borrower_id
    position = decode_cursor(cursor) or {}
    after = position.get("after")
    async with runtime_of(request).session_factory() as session:
        items = await views.list_loans(
            session,
            borrower_id=borrower_id,
            status=status,
            after=str(after) if after is not None else None,
            limit=limit + 1,
        )
    more = len(items) > limit
    items = items[:limit]
    return {
        "items": items,
        "next_cursor": encode_cursor({"after": items[-1]["loan_id"]}) if more else None,
    }


@router.get(
    "/loans/{loan_id}",
    summary="Loan detail: schedule and balances by component",
    responses={200: {"model": LoanDetail}, **problems(*AUTH, 404)},
)
async def loan_detail(
    loan_id: LoanId, request: Request, principal: Principal = Depends(ANYONE)
) -> Response:
    found = await views.loan_detail_document(await runtime_of(request).reads(), loan_id)
    if found is None:
        raise ProblemError(404, "Not Found", "No such resource")
    borrower_id, document = found
    ensure_may_see(principal, borrower_id)
    return Response(document, media_type="application/json")


@router.get(
    "/loans/{loan_id}/owed",
    summary="What do I owe today and why",
    response_model=None,
    responses={200: {"model": Owed}, **problems(*AUTH, 404)},
)
async def owed(
    loan_id: LoanId,
    request: Request,
    as_of: BusinessDate | None = None,
    principal: Principal = Depends(ANYONE),
) -> dict[str, Any]:
    """What is owed at the end of ``as_of`` (default: today on the business clock in the
    loan's timezone), by instalment and component, with a plain reason for each line.

    Right after a close of business the overdue service may still be assessing the closed
    day's penalty: while the loan was in arrears on that day and its penalty has not been
    booked (for at most ``LEDGER_PENALTY_SETTLE_SECONDS`` after the close), the answer says
    ``settling: true`` with ``pending_penalty_day``, and the total may still grow: ask
    again before paying. Once ``settling`` is false, paying ``total_minor`` leaves the
    loan current."""
    loan = await _visible_loan(request, principal, loan_id)
    clock = _clock(request)
    async with runtime_of(request).session_factory() as session, session.begin():
        day = as_of or clock.today(await last_closed_day(session), ZoneInfo(loan.timezone)).today
        try:
            loan, outstanding, credit = await views.outstanding_as_of(session, loan_id, day)
        except ValueError as exc:
            raise ProblemError(422, "Unprocessable", str(exc)) from exc
        pending = await views.pending_penalty_day(session, clock, loan_id, outstanding, day)
    return views.owed_breakdown(loan, outstanding, day, credit, pending_penalty_day=pending)


@router.post(
    "/loans/{loan_id}/payments",
    status_code=201,
    summary="Record a received payment and allocate it (payment channel, ops, admin)",
    description="Asserts that money was received. Only the payment channel (``service``) "
    "and ``ops``/``admin`` may: a borrower's app starts a payment with the payment provider, "
    "and the channel posts it once the provider confirmed it (a borrower token gets 403). "
    "``value_date`` is at most today on the business clock in the loan's timezone, not "
    "before the disbursement, and not before the last closed business day unless "
    "``back_dated: true`` (ops and admin only; it re-runs allocations of closed days). "
    "A value date out of bounds is a 422 naming the field.",
    responses={201: {"model": PaymentOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_payment(
    loan_id: LoanId,
    body: PaymentIn,
    request: Request,
    idempotency_key: IdempotencyKey,
    principal: Principal = Depends(PAYERS),
) -> JSONResponse:
    async def visible(uow: LedgerUnitOfWork) -> None:
        loan = await uow.loans.get(loan_id)
        if loan is None:
            raise ProblemError(404, "Not Found", "No such resource")
        ensure_may_see(principal, loan.borrower_id)

    if body.back_dated and not principal.roles & BACK_DATERS:
        raise ProblemError(403, "Forbidden", "Only ops or admin may back-date a payment")
    clock = _clock(request)

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        payment = await record_payment(
            uow,
            loan_id=loan_id,
            reference=body.external_reference,
            amount=body.amount_minor,
            value_date=body.value_date,
            clock=clock,
            back_dated=body.back_dated,
        )
        return 201, payment

    return await _idempotent(
        request,
        principal,
        idempotency_key,
        f"ledger:payments:{loan_id}",
        body.model_dump(mode="json"),
        work,
        before=visible,
    )


@router.get(
    "/loans/{loan_id}/payments",
    summary="Payments with their current allocation",
    response_model=None,
    responses={200: {"model": PaymentList}, **problems(*AUTH, 404)},
)
async def list_payments(
    loan_id: LoanId, request: Request, principal: Principal = Depends(ANYONE)
) -> dict[str, Any]:
    await _visible_loan(request, principal, loan_id)
    async with runtime_of(request).session_factory() as session:
        return {"items": await views.payments_of(session, loan_id)}


@router.post(
    "/loans/{loan_id}/payments/{payment_id}/reversal",
    summary="Reverse a payment (chargeback): what it paid is owed again",
    responses={200: {"model": ReversalOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def reverse(
    loan_id: LoanId,
    payment_id: uuid.UUID,
    body: ReversalIn,
    request: Request,
    idempotency_key: IdempotencyKey,
    principal: Principal = Depends(OPS),
) -> JSONResponse:
    loan = await _visible_loan(request, principal, loan_id)
    clock = _clock(request)

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        today = clock.today(await last_closed_day(uow.session), ZoneInfo(loan.timezone)).today
        if body.business_date is not None and body.business_date > today:
            raise Invalid(
                f"business_date {body.business_date} is after today on the business clock "
                f"({today})",
                field="business_date",
            )
        reversed_ = await reverse_payment(
            uow,
            loan_id=loan_id,
            payment_id=str(payment_id),
            reason=body.reason,
            business_date=body.business_date or today,
        )
        return 200, reversed_

    return await _idempotent(
        request,
        principal,
        idempotency_key,
        f"ledger:reversals:{loan_id}",
        {"payment_id": str(payment_id), **body.model_dump(mode="json")},
        work,
    )


@router.get(
    "/loans/{loan_id}/statement",
    summary="Statement for a period, from the journal",
    response_model=None,
    responses={200: {"model": Statement}, **problems(400, *AUTH, 404)},
)
async def statement(
    loan_id: LoanId,
    request: Request,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    principal: Principal = Depends(ANYONE),
) -> dict[str, Any]:
    if end < start:
        raise ProblemError(400, "Bad Request", "'to' must not be before 'from'")
    loan = await _visible_loan(request, principal, loan_id)
    async with runtime_of(request).session_factory() as session:
        return await views.statement(session, loan, start, end)


@router.get(
    "/loans/{loan_id}/journal",
    summary="The loan's journal entries",
    response_model=None,
    responses={200: {"model": Journal}, **problems(*AUTH, 404)},
)
async def journal(
    loan_id: LoanId, request: Request, principal: Principal = Depends(OPS)
) -> dict[str, Any]:
    await _visible_loan(request, principal, loan_id)
    async with runtime_of(request).session_factory() as session:
        return {"items": await views.journal_of(session, loan_id)}


@router.get(
    "/reconciliation",
    summary="Debits equal credits; balances equal the journal",
    response_model=None,
    responses={200: {"model": Reconciliation}, **problems(*AUTH)},
)
async def reconciliation(request: Request, _: Principal = Depends(OPS)) -> dict[str, Any]:
    async with runtime_of(request).session_factory() as session:
        return await views.reconciliation(session)


@router.post(
    "/close-of-business",
    summary="Close a business day (idempotent per date; ops and admin)",
    response_model=None,
    responses={200: {"model": CloseOfBusinessOut}, **problems(400, *AUTH, 409, 422)},
    openapi_extra=IDEMPOTENT,
)
async def close_of_business(
    body: CloseOfBusinessIn,
    request: Request,
    idempotency_key: IdempotencyKey,
    principal: Principal = Depends(OPS),
) -> JSONResponse:
    """Idempotent twice over: per date (a second close of the same date publishes nothing
    and says ``already_closed``) and per Idempotency-Key (a retry gets the first answer).

    No business day is skipped: when the clock is behind, every unclosed day up to this
    one is closed first, oldest first (``caught_up``; the counts are this day's). A day
    before the clock's first closed day is a 409; a catch-up longer than the configured
    maximum is a 422; so is a day after today in the business timezone
    (``LEDGER_BUSINESS_TIMEZONE``), unless the platform runs on a simulated clock
    (``LEDGER_SIMULATED_CLOCK=true``)."""
    settings = cast(Settings, runtime_of(request).settings)
    clock = LedgerClock.from_settings(settings)

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        clock.ensure_may_close(body.business_date)
        result = await close_business_day(
            uow, body.business_date, max_catch_up_days=settings.max_catch_up_days
        )
        return 200, {
            "business_date": result.business_date.isoformat(),
            "already_closed": result.already_closed,
            "caught_up": [day.isoformat() for day in result.caught_up],
            "upcoming": result.upcoming,
            "due": result.due,
            "interest_recognised": result.interest_recognised,
        }

    return await _idempotent(
        request,
        principal,
        idempotency_key,
        "ledger:close-of-business",
        body.model_dump(mode="json"),
        work,
    )
