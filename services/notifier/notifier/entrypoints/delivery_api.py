"""Delivery REST: providers' signed delivery receipts, and ops reads of delivery (suppressions
by rule, delivery rate and time to receipt by channel and provider, undeliverable mandatory
notices). Attempts and decisions per loan and per borrower are in ``api.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Header, Path, Query, Request
from fastapi.responses import JSONResponse

from lendkit.auth import Ops, Staff
from lendkit.idempotency import IdempotencyKey, idempotent_post
from lendkit.openapi import AUTH, IDEMPOTENT, QueryText, problems, service_router
from lendkit.pagination import cursor_after, paginate
from lendkit.problems import ProblemError
from lendkit.runtime import ReadSession, runtime_of
from notifier.adapters import delivery
from notifier.domain.receipt_signature import SIGNATURE_HEADER, signature_matches
from notifier.entrypoints.schemas import (
    DeliveryReport,
    DeliveryStat,
    ReceiptIn,
    ReceiptOut,
    SuppressionCount,
    SuppressionReport,
    UndeliverableOut,
    UndeliverablePage,
)
from notifier.metrics import RECEIPTS_REJECTED
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.receipts import record_receipt
from notifier.service_layer.unit_of_work import NotifierUnitOfWork
from notifier.settings import Settings

router = service_router("notifier")

ProviderName = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]
Signature = Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=200)]
Day = Annotated[date | None, Query(gt=date.min, lt=date.max)]


def _secret(request: Request, provider: str) -> str | None:
    settings = runtime_of(request).settings
    if not isinstance(settings, Settings):
        return None
    secret = settings.provider_secrets.get(provider)
    return None if secret is None else secret.get_secret_value()


def _provider_orders(request: Request) -> dict[str, list[str]]:
    """Each channel's providers by priority (a failed receipt fails over to the next one)."""
    chains = getattr(runtime_of(request), "providers", {})
    return {channel: [p.name for p in chain.providers] for channel, chain in chains.items()}


@router.post(
    "/providers/{provider}/delivery-receipts",
    status_code=200,
    summary="A provider's delivery receipt (HMAC-SHA256 of the body in X-Notifier-Signature)",
    response_model=None,
    responses={200: {"model": ReceiptOut}, **problems(400, *AUTH, 404, 409)},
    openapi_extra=IDEMPOTENT,
)
async def post_delivery_receipt(
    provider: ProviderName,
    body: ReceiptIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey,
    signature: Signature = None,
) -> JSONResponse:
    if not signature_matches(_secret(request, provider), await request.body(), signature):
        RECEIPTS_REJECTED.labels(provider=provider).inc()
        raise ProblemError(
            401, "Bad signature", f"The receipt is not signed with provider {provider}'s secret."
        )

    async def work(uow: NotifierUnitOfWork) -> tuple[int, Any]:
        outcome = await record_receipt(
            uow,
            provider=provider,
            attempt_id=body.attempt_id,
            status=body.status,
            reason=body.reason,
            provider_reference=body.provider_reference,
            now=CLOCK.now(),
            provider_orders=_provider_orders(request),
        )
        return 200, ReceiptOut(
            attempt_id=outcome.attempt_id,
            state=outcome.state,
            recorded=outcome.recorded,
            seconds_to_receipt=outcome.seconds_to_receipt,
            failed_over_to=outcome.failed_over_to,
        ).model_dump(mode="json")

    return await idempotent_post(
        request,
        caller=principal,
        key=idempotency_key,
        scope=f"delivery-receipt:{provider}",
        body=body.model_dump(mode="json"),
        work=work,
    )


def _window(since: date | None, until: date | None) -> tuple[datetime, datetime]:
    """UTC days, ``until`` inclusive; default the last 30 days. ``recorded_at`` is the
    database's wall clock, so the window is too."""
    today = datetime.now(UTC).date()
    end = datetime.combine((until or today) + timedelta(days=1), time(), tzinfo=UTC)
    start = datetime.combine(since or (today - timedelta(days=29)), time(), tzinfo=UTC)
    if start >= end:
        raise ProblemError(400, "Invalid window", "since must not be after until.")
    return start, end


@router.get(
    "/ops/suppressions",
    summary="Suppressed, deferred and undeliverable attempts by rule, in a window of UTC days",
    response_model=SuppressionReport,
    responses=problems(400, *AUTH),
)
async def get_suppressions(
    _: Ops, session: ReadSession, since: Day = None, until: Day = None
) -> SuppressionReport:
    start, end = _window(since, until)
    rows = await delivery.suppressions(session, start, end)
    return SuppressionReport(
        since=start,
        until=end,
        by_rule=[SuppressionCount(rule=r.rule, state=r.state, attempts=r.attempts) for r in rows],
    )


@router.get(
    "/ops/delivery",
    summary="Delivery rate and time to receipt by channel and provider, in a window of UTC days",
    response_model=DeliveryReport,
    responses=problems(400, *AUTH),
)
async def get_delivery(
    _: Ops, session: ReadSession, since: Day = None, until: Day = None
) -> DeliveryReport:
    start, end = _window(since, until)
    rows = await delivery.delivery(session, start, end)
    return DeliveryReport(
        since=start,
        until=end,
        by_channel_and_provider=[
            DeliveryStat(
                channel=r.channel or "",
                provider=r.provider or "",
                sent=r.sent,
                delivered=r.delivered,
                failed=r.failed,
                delivery_rate=(r.delivered / r.sent) if r.sent else None,
                median_seconds_to_receipt=None if r.median_s is None else float(r.median_s),
                p90_seconds_to_receipt=None if r.p90_s is None else float(r.p90_s),
            )
            for r in rows
        ],
    )


@router.get(
    "/ops/undeliverable-notices",
    summary="Mandatory notices recorded undeliverable (no allowed channel left), oldest first",
    response_model=None,
    responses={200: {"model": UndeliverablePage}, **problems(400, *AUTH)},
)
async def list_undeliverable_notices(
    _: Ops,
    session: ReadSession,
    cursor: QueryText = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    after = cursor_after(cursor)
    rows = await delivery.undeliverable_notices(
        session, after=int(after) if after and after.isdigit() else None, limit=limit + 1
    )
    page = paginate(
        rows,
        limit,
        key=lambda r: str(r.id),
        item=lambda r: UndeliverableOut(
            attempt_id=r.attempt_id,
            borrower_id=r.borrower_id,
            loan_id=r.loan_id,
            purpose=r.purpose,
            rule=r.rule,
            reasons=list(r.reasons or []),
            recorded_at=r.recorded_at,
        ),
    )
    return page.model_dump(mode="json")
