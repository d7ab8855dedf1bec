"""The notifier's REST API: contact profiles (service/admin), a borrower's own preferences and
opt-outs, the inbound-message webhook (STOP and the like opt the channel out at once) and ops
reads of the contact-attempt record. Addresses are written here and never answered."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from lendkit.auth import Admin, Anyone, Ops, Principal, Role, Staff, ensure_may_see, require_roles
from lendkit.idempotency import IdempotencyKey, idempotent_post
from lendkit.openapi import AUTH, IDEMPOTENT, LoanId, QueryText, problems, service_router
from lendkit.pagination import cursor_after, paginate
from lendkit.runtime import ReadSession
from notifier import views
from notifier.adapters.read_models import AttemptRow
from notifier.adapters.repository import ClockState
from notifier.domain.profile import ContactProfile
from notifier.domain.strategy import ContactStrategy
from notifier.entrypoints.schemas import (
    AttemptOut,
    AttemptPage,
    CallOutcomeIn,
    CallOutcomeOut,
    CallRequestIn,
    CallRequestOut,
    CallTaskOut,
    CallTaskPage,
    ChannelOut,
    ClockIn,
    ClockOut,
    InboundMessageIn,
    InboundOut,
    PreferencesIn,
    ProfileIn,
    ProfileOut,
    StageStrategyIn,
    StrategyIn,
    StrategyOut,
)
from notifier.service_layer import commands, handlers
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

router = service_router("notifier")


def _profile_out(profile: ContactProfile) -> dict[str, Any]:
    return ProfileOut(
        borrower_id=profile.borrower_id,
        language=profile.language,
        timezone=profile.timezone,
        jurisdiction=profile.jurisdiction,
        channels=[ChannelOut(**asdict(c)) for c in profile.by_priority()],
    ).model_dump(mode="json")


class _Page:
    def __init__(self, after: str | None, limit: int) -> None:
        self.after = after
        self.limit = limit


def _page(cursor: QueryText = None, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> _Page:
    return _Page(cursor_after(cursor), limit)


ById = Annotated[_Page, Depends(_page)]


def _attempt_page(rows: list[AttemptRow], page: _Page) -> dict[str, Any]:
    listed = paginate(
        rows,
        page.limit,
        key=lambda r: str(r.id),
        item=lambda r: AttemptOut(**{k: v for k, v in asdict(r).items() if k != "id"}),
    )
    return listed.model_dump(mode="json")


@router.post(
    "/borrowers/{borrower_id}/contact-profile",
    status_code=200,
    summary="Create or replace a borrower's contact profile (channels, language, zone)",
    response_model=None,
    responses={200: {"model": ProfileOut}, **problems(400, *AUTH)},
    openapi_extra=IDEMPOTENT,
)
async def post_contact_profile(
    borrower_id: LoanId,
    body: ProfileIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        profile = await commands.put_profile(
            uow,
            borrower_id,
            language=body.language,
            timezone=body.timezone,
            jurisdiction=body.jurisdiction,
            channels=[(c.channel, c.address, c.priority) for c in body.channels],
        )
        return 200, _profile_out(profile)

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope=f"contact-profile:{borrower_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get(
    "/borrowers/{borrower_id}/contact-profile",
    summary="A borrower's contact profile and opt-outs (no addresses); a borrower reads their own",
    response_model=ProfileOut,
    responses=problems(*AUTH, 404),
)
async def get_contact_profile(
    borrower_id: LoanId, session: ReadSession, principal: Anyone
) -> dict[str, Any]:
    ensure_may_see(principal, borrower_id)
    return _profile_out(await views.profile(session, borrower_id))


@router.post(
    "/borrowers/{borrower_id}/preferences",
    status_code=200,
    summary="Change one's own language and opt-outs (effective for the very next attempt)",
    response_model=None,
    responses={200: {"model": ProfileOut}, **problems(400, *AUTH, 404)},
    openapi_extra=IDEMPOTENT,
)
async def post_preferences(
    borrower_id: LoanId,
    body: PreferencesIn,
    request: Request,
    principal: Anyone,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    ensure_may_see(principal, borrower_id)

    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        profile = await commands.set_preferences(
            uow,
            borrower_id,
            language=body.language,
            opted_out=body.opted_out,
            now=CLOCK.now(),
        )
        return 200, _profile_out(profile)

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope=f"preferences:{borrower_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.post(
    "/inbound-messages",
    status_code=200,
    summary="Inbound message from a provider: STOP, 退订, TD ... opt that channel out at once",
    response_model=None,
    responses={200: {"model": InboundOut}, **problems(400, *AUTH)},
    openapi_extra=IDEMPOTENT,
)
async def post_inbound_message(
    body: InboundMessageIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        opted = await commands.inbound_message(
            uow, body.channel, body.from_address, body.text, CLOCK.now()
        )
        return 200, InboundOut(opted_out=opted).model_dump()

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope="inbound-message",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get(
    "/loans/{loan_id}/contact-attempts",
    summary="The contact-attempt record of a loan: every decision, rule and state change",
    response_model=None,
    responses={200: {"model": AttemptPage}, **problems(400, *AUTH)},
)
async def list_loan_attempts(
    loan_id: LoanId, _: Ops, session: ReadSession, page: ById
) -> dict[str, Any]:
    rows = await views.attempts(session, loan_id=loan_id, after=page.after, limit=page.limit + 1)
    return _attempt_page(rows, page)


@router.get(
    "/borrowers/{borrower_id}/contact-attempts",
    summary="The contact-attempt record of a borrower across loans",
    response_model=None,
    responses={200: {"model": AttemptPage}, **problems(400, *AUTH)},
)
async def list_borrower_attempts(
    borrower_id: LoanId, _: Ops, session: ReadSession, page: ById
) -> dict[str, Any]:
    rows = await views.attempts(
        session, borrower_id=borrower_id, after=page.after, limit=page.limit + 1
    )
    return _attempt_page(rows, page)


# Call centre -----------------------------------------------------------------------------

#: The call centre is an integrator: the service role (admin may act for it).
CallCentre = Annotated[Principal, Depends(require_roles(Role.SERVICE, Role.ADMIN))]


@router.get(
    "/call-tasks",
    summary="Open call tasks for the call centre (each decided by the contact policy), oldest first",
    response_model=None,
    responses={200: {"model": CallTaskPage}, **problems(400, *AUTH)},
)
async def list_call_tasks(_: CallCentre, session: ReadSession, page: ById) -> dict[str, Any]:
    rows = await views.open_call_tasks(session, after=page.after, limit=page.limit + 1)
    listed = paginate(
        rows,
        page.limit,
        key=lambda r: str(r.id),
        item=lambda r: CallTaskOut(**{k: v for k, v in asdict(r).items() if k != "id"}),
    )
    return listed.model_dump(mode="json")


@router.post(
    "/loans/{loan_id}/call-tasks",
    status_code=201,
    summary="Ask for a call on a loan: a call task if the contact policy allows it now",
    response_model=None,
    responses={201: {"model": CallRequestOut}, **problems(400, *AUTH, 404)},
    openapi_extra=IDEMPOTENT,
)
async def post_call_task(
    loan_id: LoanId,
    body: CallRequestIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        asked = await commands.request_call(uow, loan_id, automated=body.automated, now=CLOCK.now())
        return 201, CallRequestOut(**asdict(asked)).model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope=f"call-task:{loan_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.post(
    "/call-tasks/{call_id}/outcome",
    status_code=200,
    summary="The call centre's outcome of a call task (no answer, answered, conversation, "
    "wrong party, promise to pay with date and amount)",
    response_model=None,
    responses={200: {"model": CallOutcomeOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_call_outcome(
    call_id: LoanId,
    body: CallOutcomeIn,
    request: Request,
    principal: CallCentre,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        recorded = await commands.record_call_outcome(
            uow,
            call_id,
            outcome=body.outcome,
            automated=body.automated,
            promised_on=body.promised_on,
            amount_minor=body.amount_minor,
            currency=body.currency,
            now=CLOCK.now(),
        )
        return 200, CallOutcomeOut(**asdict(recorded)).model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope=f"call-outcome:{call_id}",
        body=body.model_dump(mode="json"),
        work=work,
    )


# Strategy --------------------------------------------------------------------------------


def _strategy_out(strategy: ContactStrategy) -> dict[str, Any]:
    stages = {
        name: StageStrategyIn(
            channels=[c.value for c in s.channels],
            call=s.call,
            cadence_days=s.cadence_days,
        )
        for name, s in strategy.stages.items()
    }
    return StrategyOut(version=strategy.version, stages=stages).model_dump(mode="json")


@router.post(
    "/contact-strategies",
    status_code=201,
    summary="Publish a new version of the per-stage contact strategy (channels, order, "
    "cadence, calls); in force for the next decision",
    response_model=None,
    responses={201: {"model": StrategyOut}, **problems(400, *AUTH)},
    openapi_extra=IDEMPOTENT,
)
async def post_contact_strategy(
    body: StrategyIn,
    request: Request,
    principal: Admin,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        spec = body.model_dump(mode="json")
        strategy = await commands.publish_strategy(uow, spec, principal.subject)
        return 201, _strategy_out(strategy)

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope="contact-strategy",
        body=body.model_dump(mode="json"),
        work=work,
    )


@router.get(
    "/contact-strategies/current",
    summary="The contact strategy in force (version 0: the built-in default)",
    response_model=StrategyOut,
    responses=problems(*AUTH),
)
async def get_contact_strategy(_: Ops, session: ReadSession) -> dict[str, Any]:
    return _strategy_out(await views.strategy(session))


# Clock -----------------------------------------------------------------------------------


def _clock_out(state: ClockState | None, timezone: str) -> dict[str, Any]:
    return ClockOut(
        now=CLOCK.now(),
        simulated=bool(state and state.simulated),
        business_date=state.business_date if state else None,
        time_of_day=state.time_of_day if state else None,
        timezone=state.timezone if state else timezone,
    ).model_dump(mode="json")


@router.get(
    "/clock",
    summary="The notifier's clock: now, and the simulated business date and time of day",
    response_model=ClockOut,
    responses=problems(*AUTH),
)
async def get_clock(_: Ops, session: ReadSession) -> dict[str, Any]:
    return _clock_out(await views.clock(session), handlers.BUSINESS_TIMEZONE)


@router.post(
    "/clock",
    status_code=200,
    summary="Set the simulated clock (a simulator's business date and time of day; deferred "
    "sends go out when due on it), or return to the wall clock",
    response_model=None,
    responses={200: {"model": ClockOut}, **problems(400, *AUTH)},
    openapi_extra=IDEMPOTENT,
)
async def post_clock(
    body: ClockIn,
    request: Request,
    principal: Admin,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        state = await commands.set_clock(
            uow,
            simulated=body.simulated,
            business_date=body.business_date,
            time_of_day=body.time_of_day,
            timezone=handlers.BUSINESS_TIMEZONE,
        )
        # In force at once in this process (the dispatcher reloads it on every tick).
        CLOCK.simulated = state.simulated_time()
        return 200, _clock_out(state, handlers.BUSINESS_TIMEZONE)

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope="clock",
        body=body.model_dump(mode="json"),
        work=work,
    )
