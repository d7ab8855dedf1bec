"""The ledger's REST API for mobile-app backends (borrowers see only their own loans) and ops."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from ledger import views
from ledger.adapters.records import LoanRecord
from ledger.domain.clock import LedgerClock
from ledger.entrypoints.schemas import (
    BusinessClockOut,
    CloseOfBusinessIn,
    CloseOfBusinessOut,
    Journal,
    LoanDetail,
    LoanIn,
    LoanPage,
    LoanSummary,
    Owed,
    PaymentBatchIn,
    PaymentBatchOut,
    PaymentIn,
    PaymentList,
    PaymentOut,
    ProductIn,
    ProductOut,
    Reconciliation,
    ReversalIn,
    ReversalOut,
    Statement,
    close_of_business_body,
    payment_body,
    reversal_body,
)
from ledger.service_layer import commands
from ledger.service_layer.close_of_business import close_business_day
from ledger.service_layer.unit_of_work import LedgerUnitOfWork
from ledger.settings import Settings
from lendkit.auth import Admin, Anyone, Ops, Principal, Role, Staff, ensure_may_see
from lendkit.contracts.ledger import LoanDisbursed
from lendkit.errors import NotFound
from lendkit.idempotency import (
    IdempotencyKey,
    KeyClaim,
    StoredResponse,
    caller_scope,
    claim_each,
    idempotent_post,
    release_each,
    request_fingerprint,
    store_each,
)
from lendkit.openapi import (
    AUTH,
    IDEMPOTENT,
    BusinessDate,
    LoanId,
    QueryText,
    as_of_query,
    problems,
    service_router,
)
from lendkit.pagination import Page, cursor_after, paginate
from lendkit.problems import ProblemError, refusal_document
from lendkit.runtime import ReadSession, runtime_of

router = service_router("ledger")

#: Who may assert that money was received: the payment channel (service) and ops/admin
#: (``Staff``). Not a borrower: a borrower's app starts a payment with the payment provider,
#: and the channel posts it here once the provider confirmed the money moved.
Payer = Staff
BACK_DATERS = frozenset({Role.OPS, Role.ADMIN})


def _settings(request: Request) -> Settings:
    return cast(Settings, runtime_of(request).settings)


def _clock(request: Request) -> LedgerClock:
    return LedgerClock.from_settings(_settings(request))


def _no_such_resource() -> NotFound:
    """The same answer for a missing loan and another borrower's (existence not disclosed)."""
    return NotFound("No such resource")


async def _visible_loan(session: ReadSession, principal: Principal, loan_id: str) -> LoanRecord:
    loan = await views.visible_loan(session, loan_id)
    if loan is None:
        raise _no_such_resource()
    ensure_may_see(principal, loan.borrower_id)
    return loan


@router.post(
    "/products",
    status_code=201,
    summary="Create a loan product (published to the other services)",
    responses={201: {"model": ProductOut}, **problems(400, *AUTH, 409, 422)},
    openapi_extra=IDEMPOTENT,
)
async def create_product(
    body: ProductIn, request: Request, idempotency_key: IdempotencyKey, caller: Admin
) -> JSONResponse:
    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        created = await commands.create_product(uow, body.to_domain())
        return 201, created.published.model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope="ledger:products",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.post(
    "/loans",
    status_code=201,
    summary="Create and disburse a loan",
    responses={201: {"model": LoanDisbursed}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def create_loan(
    body: LoanIn, request: Request, idempotency_key: IdempotencyKey, caller: Staff
) -> JSONResponse:
    try:
        ZoneInfo(body.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProblemError(422, "Unprocessable", f"unknown timezone {body.timezone!r}") from exc

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        created = await commands.disburse_loan(
            uow,
            loan_id=body.loan_id or str(uuid.uuid4()),
            borrower_id=body.borrower_id,
            product_code=body.product_code,
            principal=body.principal_minor,
            disbursed_on=body.disbursed_on,
            first_due_date=body.first_due_date,
            timezone=body.timezone,
        )
        return 201, created.disbursed.model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope="ledger:loans",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get(
    "/loans",
    summary="Loans (a borrower sees only their own), by loan id, cursor-paginated",
    response_model=None,
    responses={200: {"model": LoanPage}, **problems(400, *AUTH)},
)
async def list_loans(
    session: ReadSession,
    caller: Anyone,
    borrower_id: QueryText = None,
    status: str | None = Query(default=None, pattern="^(active|settled)$"),
    cursor: QueryText = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> Page[LoanSummary]:
    if not caller.is_staff:
        borrower_id = caller.borrower_id
    rows = await views.list_loans(
        session,
        borrower_id=borrower_id,
        status=status,
        after=cursor_after(cursor),
        limit=limit + 1,
    )
    return paginate(
        rows,
        limit,
        key=lambda loan: loan.loan_id,
        item=lambda loan: LoanSummary.model_validate(views.loan_summary(loan)),
    )


@router.get(
    "/loans/{loan_id}",
    summary="Loan detail: schedule and balances by component",
    responses={200: {"model": LoanDetail}, **problems(*AUTH, 404)},
)
async def loan_detail(loan_id: LoanId, request: Request, caller: Anyone) -> Response:
    # The hot read: the runtime's asyncpg pool, not a session (``ledger.views``).
    found = await views.loan_detail_document(await runtime_of(request).reads(), loan_id)
    if found is None:
        raise _no_such_resource()
    borrower_id, document = found
    ensure_may_see(caller, borrower_id)
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
    session: ReadSession,
    caller: Anyone,
    as_of: Annotated[
        BusinessDate | None,
        as_of_query("today on the business clock in the loan's timezone (GET /business-clock)"),
    ] = None,
) -> dict[str, Any]:
    """What is owed at the end of ``as_of`` (default: today on the business clock in the
    loan's timezone), by instalment and component, with a plain reason for each line.

    Right after a close of business the overdue service may still be assessing the closed
    day's penalty: while the loan was in arrears on that day and its penalty has not been
    booked (for at most ``LEDGER_PENALTY_SETTLE_SECONDS`` after the close), the answer says
    ``settling: true`` with ``pending_penalty_day``, and the total may still grow: ask
    again before paying. Once ``settling`` is false, paying ``total_minor`` leaves the
    loan current."""
    loan = await _visible_loan(session, caller, loan_id)
    clock = _clock(request)
    day = as_of or await views.today_for(session, clock, loan)
    try:
        loan, outstanding, credit = await views.outstanding_as_of(session, loan_id, day)
    except ValueError as exc:
        raise ProblemError(422, "Unprocessable", str(exc)) from exc
    pending = await views.pending_penalty_day(session, clock, loan_id, outstanding, day)
    # Reads done: end the transaction (and the loan's row lock) before answering.
    await session.rollback()
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
    caller: Payer,
) -> JSONResponse:
    # No visibility check of its own: only staff may pay (they see every loan), and a
    # missing loan is refused by the command (404) with the key's claim rolled back.
    if body.back_dated and not caller.roles & BACK_DATERS:
        raise ProblemError(403, "Forbidden", "Only ops or admin may back-date a payment")
    clock = _clock(request)

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        recorded = await commands.record_payment(
            uow,
            loan_id=loan_id,
            reference=body.external_reference,
            amount=body.amount_minor,
            value_date=body.value_date,
            clock=clock,
            back_dated=body.back_dated,
        )
        return 201, payment_body(recorded)

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"ledger:payments:{loan_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.post(
    "/payments/batch",
    status_code=200,
    summary="Record a batch of received payments (payment gateway, bank settlement file)",
    description="Up to 500 payments (``MAX_BATCH_PAYMENTS``) of any loans, booked in one "
    "transaction in the given order, each exactly as ``POST /loans/{loan_id}/payments`` "
    "would book it (the same checks, allocation and events). One result per payment: 201 "
    "with the payment, or the problem the single POST would have answered (404 no such "
    "loan, 409 external reference taken, 422 value date out of bounds or its key reused "
    "with another payment); a refused payment leaves the others booked. Every booked "
    "payment is committed before the answer. Each payment carries its own "
    "``idempotency_key`` (the same key space as the single POST's, per loan): a payment "
    "sent again (alone or in another batch) answers its stored result (``replayed``). "
    "The batch itself has an Idempotency-Key too. No back-dating in a batch. A body that "
    "does not parse is refused whole (422).",
    responses={200: {"model": PaymentBatchOut}, **problems(400, *AUTH)},
    openapi_extra=IDEMPOTENT,
)
async def post_payment_batch(
    body: PaymentBatchIn, request: Request, idempotency_key: IdempotencyKey, caller: Payer
) -> JSONResponse:
    clock = _clock(request)
    items = body.payments

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        claims = [
            KeyClaim(
                caller_scope(caller, f"ledger:payments:{p.loan_id}"),
                p.idempotency_key,
                request_fingerprint(p.single().model_dump(mode="json")),
            )
            for p in items
        ]
        answers = await claim_each(uow, claims)
        first: dict[tuple[str, str], int] = {}
        to_book: list[int] = []
        for i, (claim, answer) in enumerate(zip(claims, answers, strict=True)):
            if answer is None and first.setdefault((claim.scope, claim.key), i) == i:
                to_book.append(i)
        booked = await commands.record_payments(
            uow,
            [
                commands.PaymentOrder(
                    items[i].loan_id,
                    items[i].external_reference,
                    items[i].amount_minor,
                    items[i].value_date,
                )
                for i in to_book
            ],
            clock,
        )
        outcome: dict[int, tuple[int, dict[str, Any], bool]] = {}
        stored, released = [], []
        for i, result in zip(to_book, booked, strict=True):
            if isinstance(result, commands.PaymentRecorded):
                outcome[i] = (201, payment_body(result), False)
                stored.append((claims[i], 201, outcome[i][1]))
            else:
                outcome[i] = (result.status, refusal_document(result), False)
                released.append(claims[i])
        await store_each(uow, stored)
        await release_each(uow, released)
        results = []
        for i, (p, answer) in enumerate(zip(items, answers, strict=True)):
            if isinstance(answer, StoredResponse):
                status, doc, replayed = answer.status_code, answer.body, True
            elif isinstance(answer, ProblemError):
                status, doc, replayed = answer.status, refusal_document(answer), False
            elif i in outcome:
                status, doc, replayed = outcome[i]
            else:  # the same key and payment earlier in the batch: its result
                status, doc, _ = outcome[first[(claims[i].scope, claims[i].key)]]
                replayed = True
            results.append(
                {
                    "index": i,
                    "loan_id": p.loan_id,
                    "idempotency_key": p.idempotency_key,
                    "status": status,
                    "replayed": replayed,
                    "payment": doc if status == 201 else None,
                    "problem": None if status == 201 else doc,
                }
            )
        accepted = sum(1 for r in results if r["status"] == 201)
        return 200, {"accepted": accepted, "refused": len(results) - accepted, "results": results}

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope="ledger:payments:batch",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get(
    "/loans/{loan_id}/payments",
    summary="Payments with their current allocation",
    response_model=None,
    responses={200: {"model": PaymentList}, **problems(*AUTH, 404)},
)
async def list_payments(loan_id: LoanId, session: ReadSession, caller: Anyone) -> dict[str, Any]:
    await _visible_loan(session, caller, loan_id)
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
    session: ReadSession,
    idempotency_key: IdempotencyKey,
    caller: Ops,
) -> JSONResponse:
    await _visible_loan(session, caller, loan_id)
    await session.close()  # the check is done: give the connection back before the work
    clock = _clock(request)

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        reversal = await commands.reverse_payment(
            uow,
            loan_id=loan_id,
            payment_id=str(payment_id),
            reason=body.reason,
            business_date=body.business_date,
            clock=clock,
        )
        return 200, reversal_body(reversal)

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"ledger:reversals:{loan_id}",
        body={"payment_id": str(payment_id), **body.model_dump(mode="json")},
        work=work,
    )


@router.get(
    "/loans/{loan_id}/statement",
    summary="Statement for a period, from the journal",
    response_model=None,
    responses={200: {"model": Statement}, **problems(400, *AUTH, 404)},
)
async def statement(
    loan_id: LoanId,
    session: ReadSession,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    caller: Anyone,
) -> dict[str, Any]:
    if end < start:
        raise ProblemError(400, "Bad Request", "'to' must not be before 'from'")
    loan = await _visible_loan(session, caller, loan_id)
    return await views.statement(session, loan, start, end)


@router.get(
    "/loans/{loan_id}/journal",
    summary="The loan's journal entries",
    response_model=None,
    responses={200: {"model": Journal}, **problems(*AUTH, 404)},
)
async def journal(loan_id: LoanId, session: ReadSession, caller: Ops) -> dict[str, Any]:
    await _visible_loan(session, caller, loan_id)
    return {"items": await views.journal_of(session, loan_id)}


@router.get(
    "/reconciliation",
    summary="Debits equal credits; balances equal the journal",
    response_model=None,
    responses={200: {"model": Reconciliation}, **problems(*AUTH)},
)
async def reconciliation(request: Request, session: ReadSession, _: Ops) -> dict[str, Any]:
    return await views.reconciliation(session, _settings(request).reconciliation_loans_listed)


@router.get(
    "/business-clock",
    summary="The business clock: today, the first and last closed days, a close running",
    response_model=BusinessClockOut,
)
async def business_clock(
    request: Request, session: ReadSession, caller: Anyone
) -> BusinessClockOut:
    """Read this before closing a day or dating a payment: a day after ``today`` is refused
    on the real clock, a day before ``first_closed_day`` always."""
    settings = _settings(request)
    state = await views.business_clock(
        session, LedgerClock.from_settings(settings), settings.max_catch_up_days
    )
    return BusinessClockOut(**asdict(state))


@router.post(
    "/close-of-business",
    summary="Close a business day (idempotent per date; ops and admin)",
    response_model=None,
    responses={200: {"model": CloseOfBusinessOut}, **problems(400, *AUTH, 409, 422)},
    openapi_extra=IDEMPOTENT,
)
async def close_of_business(
    body: CloseOfBusinessIn, request: Request, idempotency_key: IdempotencyKey, caller: Ops
) -> JSONResponse:
    """Idempotent twice over: per date (a second close of the same date publishes nothing
    and says ``already_closed``) and per Idempotency-Key (a retry gets the first answer).

    No business day is skipped: when the clock is behind, every unclosed day up to this
    one is closed first, oldest first (``caught_up``; the counts are this day's). A day
    before the clock's first closed day is a 409; a catch-up longer than the configured
    maximum is a 422; so is a day after today in the business timezone
    (``LEDGER_BUSINESS_TIMEZONE``), unless the platform runs on a simulated clock
    (``LEDGER_SIMULATED_CLOCK=true``)."""
    settings = _settings(request)
    clock = LedgerClock.from_settings(settings)

    async def work(uow: LedgerUnitOfWork) -> tuple[int, Any]:
        clock.ensure_may_close(body.business_date)
        result = await close_business_day(
            uow, body.business_date, max_catch_up_days=settings.max_catch_up_days
        )
        return 200, close_of_business_body(result)

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope="ledger:close-of-business",
        body=body.model_dump(mode="json"),
        work=work,
    )
