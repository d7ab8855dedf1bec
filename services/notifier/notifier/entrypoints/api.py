"""The notifier's REST API: contact profiles (service/admin), a borrower's own preferences and
opt-outs, the inbound-message webhook (STOP and the like opt the channel out at once) and ops
reads of the contact-attempt record. Addresses are written here and never answered."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from lendkit.auth import Anyone, Ops, Staff, ensure_may_see
from lendkit.idempotency import IdempotencyKey, idempotent_post
from lendkit.openapi import AUTH, IDEMPOTENT, LoanId, QueryText, problems, service_router
from lendkit.pagination import cursor_after, paginate
from lendkit.runtime import ReadSession
from notifier import views
from notifier.adapters.read_models import AttemptRow
from notifier.domain.profile import ContactProfile
from notifier.entrypoints.schemas import (
    AttemptOut,
    AttemptPage,
    ChannelOut,
    InboundMessageIn,
    InboundOut,
    PreferencesIn,
    ProfileIn,
    ProfileOut,
)
from notifier.service_layer import commands
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
