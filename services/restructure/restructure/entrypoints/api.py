"""REST routes of the restructure service.

Routes parse the request, call a command (``service_layer.commands``) or a view
(``restructure.views``, on the route's read session) and map the result to the documented
shapes (``entrypoints.schemas``). Refusals are ``lendkit.errors`` kinds answered as
problem+json by the app. POSTs that change state go through ``idempotent_post``
(Idempotency-Key). Borrowers see only their own loans (404 otherwise).

``POST /loan-quotes``: a prospective borrower's quote (schedule, total interest, effective
annual cost, penalty terms in plain language) from the schedule math the ledger books
with. It changes no state, so it takes no Idempotency-Key.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import JSONResponse

from lendkit.auth import Anyone, Ops, Staff, ensure_may_see
from lendkit.idempotency import IdempotencyKey, idempotent_post
from lendkit.openapi import AUTH, IDEMPOTENT, LoanId, QueryText, problems, service_router
from lendkit.pagination import Page, cursor_after, paginate
from lendkit.problems import ProblemError
from lendkit.runtime import ReadSession, runtime_of
from restructure import views
from restructure.adapters.records import Offer, Plan, PromiseRow
from restructure.domain.loan_quote import PenaltyTerms, quote_loan
from restructure.domain.plans import PlanType, Quote
from restructure.domain.texts import Locale, locale_of, plan_name, reason_text
from restructure.entrypoints.schemas import (
    AcceptOut,
    AmountOut,
    AuditOut,
    ForbearanceOut,
    HardshipOut,
    HardshipRequestIn,
    InstalmentOut,
    LoanQuoteOut,
    LoanQuoteRequest,
    LoanRestructuringOut,
    OfferIn,
    OfferOut,
    OptionOut,
    PlanInstalmentOut,
    PlanOut,
    PromiseIn,
    PromiseMadeOut,
    PromiseOut,
    QuoteOut,
    RateOut,
    ReasonOut,
    RequestOut,
)
from restructure.service_layer import commands
from restructure.service_layer.unit_of_work import RestructureUnitOfWork
from restructure.settings import Settings

router = service_router("restructure")

Lang = Annotated[
    Locale | None,
    Query(description="en or zh-CN; default: from Accept-Language, else en"),
]
AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500)]
Status = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")]


def _zone(request: Request) -> str:
    settings = runtime_of(request).settings
    return settings.business_timezone if isinstance(settings, Settings) else "Asia/Shanghai"


# Mapping to the documented shapes -----------------------------------------------------


def _amounts(values: Mapping[str, int]) -> list[AmountOut]:
    return [AmountOut(kind=k, amount_minor=v) for k, v in sorted(values.items()) if v]


def _instalments(quote_or_plan: Quote | Plan) -> list[PlanInstalmentOut]:
    return [
        PlanInstalmentOut(
            seq=i.seq,
            due_date=i.due_date,
            principal_minor=i.principal,
            interest_minor=i.interest,
            total_minor=i.total,
        )
        for i in quote_or_plan.instalments
    ]


def quote_out(quote: Quote, locale: Locale, *, name: str | None = None) -> QuoteOut:
    return QuoteOut(
        plan_type=quote.plan_type.value,
        name=name or plan_name(quote.plan_type.value, locale),
        currency=quote.currency,
        as_of=quote.as_of,
        annual_rate=str(quote.annual_rate),
        instalments=_instalments(quote),
        first_instalment_total_minor=quote.first_instalment_total,
        total_cost_minor=quote.total_cost,
        total_interest_minor=quote.total_interest,
        effective_annual_cost=str(quote.effective_annual_cost),
        capitalised=_amounts(quote.capitalised),
        carried_to_first=_amounts(quote.carried),
        waived=_amounts(quote.waived),
        written_off_principal_minor=quote.written_off_principal,
        settlement_deadline=quote.settlement_deadline,
        promise_date=quote.promise_date,
        promise_amount_minor=quote.promise_amount,
        rewrites_schedule=quote.rewrites_schedule,
    )


def _current(quote: Quote | None, locale: Locale) -> QuoteOut | None:
    if quote is None:
        return None
    return quote_out(quote, locale, name=plan_name("current_terms", locale))


def _option(
    quote_id: str,
    plan_type: str,
    eligible: bool,
    reasons: tuple[str, ...],
    quote: Quote | None,
    offer: tuple[str | None, str | None],
    locale: Locale,
) -> OptionOut:
    return OptionOut(
        quote_id=quote_id,
        plan_type=plan_type,
        name=plan_name(plan_type, locale),
        eligible=eligible,
        reasons=[ReasonOut(code=r, text=reason_text(r, locale)) for r in reasons],
        quote=None if quote is None else quote_out(quote, locale),
        offer_id=offer[0],
        offer_status=offer[1],
    )


def offer_out(offer: Offer, locale: Locale = "en") -> OfferOut:
    return OfferOut(
        offer_id=offer.offer_id,
        loan_id=offer.loan_id,
        request_id=offer.request_id,
        plan_type=offer.plan_type,
        status=offer.status,
        made_by=offer.made_by,
        needs_approval=offer.needs_approval,
        approved_by=offer.approved_by,
        expires_on=offer.expires_on,
        forgiven_minor=offer.forgiven_minor,
        quote=quote_out(offer.quote, locale),
    )


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        plan_id=plan.plan_id,
        loan_id=plan.loan_id,
        offer_id=plan.offer_id,
        plan_type=plan.plan_type,
        status=plan.status,
        accepted_on=plan.accepted_on,
        activated_on=plan.activated_on,
        closed_on=plan.closed_on,
        broken_seq=plan.broken_seq,
        instalments=_instalments(plan),
    )


def promise_out(row: PromiseRow) -> PromiseOut:
    p = row.promise
    return PromiseOut(
        promise_id=p.promise_id,
        loan_id=row.loan_id,
        source=row.source,
        made_on=p.made_on,
        promised_on=p.due,
        amount_minor=p.amount,
        status=row.status,
        matched_minor=row.matched_minor,
    )


# Borrower: hardship request, quotes, offers, acceptance --------------------------------


@router.post(
    "/loans/{loan_id}/hardship-requests",
    status_code=201,
    summary="State a hardship reason and get every plan type quoted",
    description="Every plan type is quoted exactly (the new schedule, total cost, effective "
    "annual cost) beside the current terms, or refused with every reason. Each eligible "
    "quote is an offer until `expires_on`. One pending request per loan: a second is 409.",
    responses={201: {"model": HardshipOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_hardship_request(
    loan_id: LoanId,
    body: HardshipRequestIn,
    request: Request,
    caller: Anyone,
    idempotency_key: IdempotencyKey,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> JSONResponse:
    locale = locale_of(lang, accept_language)

    async def work(uow: RestructureUnitOfWork) -> tuple[int, Any]:
        quoted = await commands.request_hardship(uow, caller, loan_id, body.reason)
        r = quoted.request
        out = HardshipOut(
            request_id=r.request_id,
            loan_id=r.loan_id,
            status=r.status,
            reason=r.reason,
            requested_on=r.requested_on,
            expires_on=quoted.expires_on,
            locale=locale,
            current_terms=_current(quoted.current, locale),
            options=[
                _option(
                    o.row.quote_id,
                    o.row.plan_type,
                    o.row.eligible,
                    o.row.reasons,
                    o.row.quote,
                    (o.offer_id, o.offer_status),
                    locale,
                )
                for o in quoted.options
            ],
        )
        return 201, out.model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"hardship:{loan_id}:{locale}",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get(
    "/hardship-requests/{request_id}",
    summary="A hardship request with its quotes and offers, beside the current terms",
    response_model=HardshipOut,
    responses=problems(*AUTH, 404),
)
async def get_hardship_request(
    request_id: LoanId,
    request: Request,
    caller: Anyone,
    session: ReadSession,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HardshipOut:
    locale = locale_of(lang, accept_language)
    detail = await views.request_detail(session, request_id, _zone(request))
    ensure_may_see(caller, detail.loan.borrower_id)
    offers = {o.quote_id: o for o in detail.offers}
    r = detail.request
    return HardshipOut(
        request_id=r.request_id,
        loan_id=r.loan_id,
        status=r.status,
        reason=r.reason,
        requested_on=r.requested_on,
        expires_on=max((q.expires_on for q in detail.quotes), default=None),
        locale=locale,
        current_terms=_current(detail.current, locale),
        options=[
            _option(
                q.quote_id,
                q.plan_type,
                q.eligible,
                q.reasons,
                q.quote,
                (
                    (offers[q.quote_id].offer_id, offers[q.quote_id].status)
                    if q.quote_id in offers
                    else (None, None)
                ),
                locale,
            )
            for q in detail.quotes
        ],
    )


@router.get(
    "/offers/{offer_id}",
    summary="An offer and its exact quote",
    response_model=OfferOut,
    responses=problems(*AUTH, 404),
)
async def get_offer(
    offer_id: LoanId,
    caller: Anyone,
    session: ReadSession,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> OfferOut:
    offer, loan = await views.find_offer(session, offer_id)
    ensure_may_see(caller, loan.borrower_id)
    return offer_out(offer, locale_of(lang, accept_language))


@router.post(
    "/offers/{offer_id}/accept",
    status_code=201,
    summary="Accept an offer: one plan per offer",
    description="The plan's exact schedule goes to the ledger "
    "(`restructure.plan.accepted.v2`); a promise offer records the promise. Accepting an "
    "accepted offer again answers the same plan (200). After the offer's last day, while it "
    "awaits approval, or when the loan's principal changed since the quote: 409.",
    responses={
        201: {"model": AcceptOut},
        200: {"model": AcceptOut, "description": "Accepted before: the same plan"},
        **problems(400, *AUTH, 404, 409),
    },
    openapi_extra=IDEMPOTENT,
)
async def post_accept(
    offer_id: LoanId, request: Request, caller: Anyone, idempotency_key: IdempotencyKey
) -> JSONResponse:
    async def work(uow: RestructureUnitOfWork) -> tuple[int, Any]:
        result = await commands.accept_offer(uow, caller, offer_id)
        out = AcceptOut(
            offer_id=result.offer.offer_id,
            status=result.offer.status,
            plan=None if result.plan is None else plan_out(result.plan),
            promise_id=result.promise_id,
        )
        return (201 if result.created else 200), out.model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"accept:{offer_id}",
        body={"offer_id": offer_id},
        work=work,
    )


@router.post(
    "/offers/{offer_id}/decline",
    summary="Decline an offer",
    responses={200: {"model": OfferOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_decline(
    offer_id: LoanId, request: Request, caller: Anyone, idempotency_key: IdempotencyKey
) -> JSONResponse:
    async def work(uow: RestructureUnitOfWork) -> tuple[int, Any]:
        offer = await commands.decline_offer(uow, caller, offer_id)
        return 200, offer_out(offer).model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"decline:{offer_id}",
        body={"offer_id": offer_id},
        work=work,
    )


@router.get(
    "/plans/{plan_id}",
    summary="A plan and its schedule",
    response_model=PlanOut,
    responses=problems(*AUTH, 404),
)
async def get_plan(plan_id: LoanId, caller: Anyone, session: ReadSession) -> PlanOut:
    plan, loan = await views.find_plan(session, plan_id)
    ensure_may_see(caller, loan.borrower_id)
    return plan_out(plan)


@router.post(
    "/plans/{plan_id}/cancel",
    summary="Cancel an accepted plan before it is active",
    responses={200: {"model": PlanOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_cancel_plan(
    plan_id: LoanId, request: Request, caller: Anyone, idempotency_key: IdempotencyKey
) -> JSONResponse:
    async def work(uow: RestructureUnitOfWork) -> tuple[int, Any]:
        plan = await commands.cancel_plan(uow, caller, plan_id)
        return 200, plan_out(plan).model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"cancel:{plan_id}",
        body={"plan_id": plan_id},
        work=work,
    )


@router.post(
    "/loans/{loan_id}/promises",
    status_code=201,
    summary="Promise to pay an amount by a date",
    description="Matched to payments oldest promise first; kept, partly kept or broken "
    "with the product's tolerance once the date plus grace has passed.",
    responses={201: {"model": PromiseMadeOut}, **problems(400, *AUTH, 404)},
    openapi_extra=IDEMPOTENT,
)
async def post_promise(
    loan_id: LoanId,
    body: PromiseIn,
    request: Request,
    caller: Anyone,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: RestructureUnitOfWork) -> tuple[int, Any]:
        promise_id = await commands.make_promise(
            uow, caller, loan_id, promised_on=body.promised_on, amount_minor=body.amount_minor
        )
        return 201, PromiseMadeOut(promise_id=promise_id, loan_id=loan_id).model_dump()

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"promise:{loan_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get(
    "/loans/{loan_id}/restructuring",
    summary="A loan's plan, forbearance clocks and promises",
    response_model=LoanRestructuringOut,
    responses=problems(*AUTH, 404),
)
async def get_loan_restructuring(
    loan_id: LoanId, request: Request, caller: Anyone, session: ReadSession
) -> LoanRestructuringOut:
    state = await views.loan_restructuring(session, loan_id, _zone(request))
    ensure_may_see(caller, state.loan.borrower_id)
    clock = None if state.forbearance is None else state.forbearance.clock
    return LoanRestructuringOut(
        loan_id=loan_id,
        business_date=state.today,
        days_past_due=state.days_past_due,
        plan=None if state.plan is None else plan_out(state.plan),
        forbearance=None
        if clock is None
        else ForbearanceOut(
            status=clock.status.value,
            forborne_on=clock.forborne_on,
            cure_ends_on=clock.cure_ends_on,
            probation_starts_on=clock.probation_starts_on,
            probation_ends_on=clock.probation_ends_on,
        ),
        promises=[promise_out(p) for p in state.promises],
    )


# Operations -----------------------------------------------------------------------------


@router.post(
    "/loans/{loan_id}/offers",
    status_code=201,
    summary="Make an offer (operations)",
    description="Eligibility holds for operations too (422 with every reason). A settlement "
    "or waiver forgiving more than the product's `approval_threshold_minor` waits for a "
    "second person (`pending_approval`).",
    responses={201: {"model": OfferOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_offer(
    loan_id: LoanId,
    body: OfferIn,
    request: Request,
    caller: Ops,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    terms = commands.OfferTerms(
        plan_type=PlanType(body.plan_type),
        periods=body.periods,
        new_annual_rate=None if body.new_annual_rate is None else Decimal(body.new_annual_rate),
        waive_penalty_minor=body.waive_penalty_minor,
        waive_fee_minor=body.waive_fee_minor,
        amount_minor=body.amount_minor,
        on=body.on,
        expires_in_days=body.expires_in_days,
    )

    async def work(uow: RestructureUnitOfWork) -> tuple[int, Any]:
        offer = await commands.make_offer(uow, caller, loan_id, terms)
        return 201, offer_out(offer).model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"offer:{loan_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.post(
    "/offers/{offer_id}/approve",
    summary="Approve an offer as the second person (maker-checker)",
    description="The maker of an offer may never approve it (403).",
    responses={200: {"model": OfferOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_approve(
    offer_id: LoanId, request: Request, caller: Ops, idempotency_key: IdempotencyKey
) -> JSONResponse:
    async def work(uow: RestructureUnitOfWork) -> tuple[int, Any]:
        offer = await commands.approve_offer(uow, caller, offer_id)
        return 200, offer_out(offer).model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=caller,
        key=idempotency_key,
        scope=f"approve:{offer_id}",
        body={"offer_id": offer_id},
        work=work,
    )


@router.get(
    "/hardship-requests",
    summary="Hardship requests by status",
    response_model=Page[RequestOut],
    responses=problems(400, *AUTH),
)
async def list_requests(
    _: Staff,
    session: ReadSession,
    status: Status = None,
    cursor: QueryText = None,
    limit: Limit = 100,
) -> Page[RequestOut]:
    rows = await views.requests_page(session, status, cursor_after(cursor), limit)
    return paginate(
        rows,
        limit,
        key=lambda r: r.request_id,
        item=lambda r: RequestOut(
            request_id=r.request_id,
            loan_id=r.loan_id,
            status=r.status,
            reason=r.reason,
            requested_on=r.requested_on,
        ),
    )


@router.get(
    "/offers",
    summary="Offers by status",
    response_model=Page[OfferOut],
    responses=problems(400, *AUTH),
)
async def list_offers(
    _: Staff,
    session: ReadSession,
    status: Status = None,
    cursor: QueryText = None,
    limit: Limit = 100,
) -> Page[OfferOut]:
    rows = await views.offers_page(session, status, cursor_after(cursor), limit)
    return paginate(rows, limit, key=lambda o: o.offer_id, item=offer_out)


@router.get(
    "/plans",
    summary="Plans by status",
    response_model=Page[PlanOut],
    responses=problems(400, *AUTH),
)
async def list_plans(
    _: Staff,
    session: ReadSession,
    status: Status = None,
    cursor: QueryText = None,
    limit: Limit = 100,
) -> Page[PlanOut]:
    rows = await views.plans_page(session, status, cursor_after(cursor), limit)
    return paginate(rows, limit, key=lambda p: p.plan_id, item=plan_out)


@router.get(
    "/rates",
    summary="Uptake, completion, break and promise-kept rates by product and plan type",
    response_model=list[RateOut],
    responses=problems(*AUTH),
)
async def get_rates(_: Staff, session: ReadSession) -> list[RateOut]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return [
        RateOut(
            product_code=r.product_code,
            plan_type=r.plan_type,
            offers_made=r.counts.offers_made,
            offers_accepted=r.counts.offers_accepted,
            plans_activated=r.counts.plans_activated,
            plans_completed=r.counts.plans_completed,
            plans_broken=r.counts.plans_broken,
            promises_resolved=r.counts.promises_resolved,
            promises_kept=r.counts.promises_kept,
            uptake=text(r.uptake),
            completion=text(r.completion),
            break_rate=text(r.break_rate),
            promise_kept=text(r.promise_kept),
        )
        for r in await views.rates(session)
    ]


@router.get(
    "/audit-trail",
    summary="Every step of requests, offers, plans and promises: who, when",
    response_model=Page[AuditOut],
    responses=problems(400, *AUTH),
)
async def get_audit_trail(
    _: Staff,
    session: ReadSession,
    loan_id: QueryText = None,
    subject_id: QueryText = None,
    cursor: QueryText = None,
    limit: Limit = 100,
) -> Page[AuditOut]:
    after = cursor_after(cursor)
    if after is not None and not after.isdigit():
        raise ProblemError(400, "Invalid cursor", "The cursor is not one this service issued.")
    rows = await views.audit_page(
        session,
        loan_id=loan_id,
        subject_id=subject_id,
        after=None if after is None else int(after),
        limit=limit,
    )
    return paginate(
        rows,
        limit,
        key=lambda a: str(a.id),
        item=lambda a: AuditOut(
            id=a.id,
            subject_kind=a.subject_kind,
            subject_id=a.subject_id,
            loan_id=a.loan_id,
            step=a.step,
            actor=a.actor,
            at=a.at,
            detail=a.detail,
        ),
    )


# Prospective borrowers --------------------------------------------------------------------


@router.post(
    "/loan-quotes",
    summary="Quote a new loan before borrowing",
    responses={200: {"model": LoanQuoteOut}, **problems(400, *AUTH)},
)
async def post_loan_quote(body: LoanQuoteRequest, _: Anyone) -> LoanQuoteOut:
    """The exact schedule the ledger would book, its total interest and effective annual
    cost, and the penalty terms in plain language (en or zh-CN)."""
    quote = quote_loan(
        body.principal_minor,
        body.currency,
        annual_rate=Decimal(body.annual_rate),
        term=body.term,
        disbursed_on=body.disbursed_on,
        first_due_date=body.first_due_date,
        schedule_type=body.schedule_type,
        frequency=body.frequency,
        day_count=body.day_count,
        rounding=body.rounding,
        penalty=PenaltyTerms(
            Decimal(body.penalty_daily_rate), body.penalty_grace_days, Decimal(body.annual_cost_cap)
        ),
        locale=body.locale,
    )
    return LoanQuoteOut(
        currency=quote.currency,
        principal_minor=quote.principal,
        instalments=[
            InstalmentOut(
                seq=i.seq,
                due_date=i.due_date,
                principal_minor=i.principal,
                interest_minor=i.interest,
                total_minor=i.total,
            )
            for i in quote.instalments
        ],
        total_interest_minor=quote.total_interest,
        total_payment_minor=quote.total_payment,
        effective_annual_cost=str(quote.effective_annual_cost),
        penalty_terms=quote.penalty_text,
    )
