"""Delivery receipts: a provider's signed callback says an attempt it was handed was delivered
or failed. The receipt is a new row of the attempt (append-only) with its event; the first
receipt after the send decides, a replay or a later contradicting receipt records nothing.
The time from the ``sent`` row to the receipt is observed per provider and channel.

A failed receipt fails over: when the channel has a provider after the failed one (by
priority) that has not failed this attempt yet, the attempt is queued again (a new
``queued`` row naming the providers that failed it, in ``context["failed_providers"]``) and
the dispatcher sends it by the next one, with the same idempotency key (the attempt id); no
``notifier.message.failed`` is published then, since the message has not failed yet. Only
when no provider is left is the failure final: ``notifier.message.failed``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lendkit.contracts import notifier
from lendkit.errors import Conflict, NotFound
from lendkit.events import new_event
from notifier.metrics import TIME_TO_RECEIPT
from notifier.service_layer.batch_notify import attempt_row
from notifier.service_layer.unit_of_work import NotifierUnitOfWork


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    attempt_id: str
    state: str
    recorded: bool
    """False for a replayed or late receipt: the attempt's outcome was already recorded."""
    seconds_to_receipt: float | None
    failed_over_to: str | None = None
    """The provider the attempt was queued again for, after a failed receipt."""


#: The context key of a re-queued attempt naming the providers that failed it (comma-separated).
FAILED_PROVIDERS = "failed_providers"


def failed_providers(context: dict[str, str]) -> frozenset[str]:
    """The providers that reported an attempt failed (``FAILED_PROVIDERS``)."""
    return frozenset(p for p in context.get(FAILED_PROVIDERS, "").split(",") if p)


def next_provider(order: Sequence[str], failed: str, tried: frozenset[str]) -> str | None:
    """The provider after ``failed`` in the channel's priority ``order`` that has not failed the
    attempt yet; None when there is none (or ``failed`` is not in the chain any more)."""
    if failed not in order:
        return None
    return next((p for p in order[order.index(failed) + 1 :] if p not in tried), None)


async def record_receipt(
    uow: NotifierUnitOfWork,
    *,
    provider: str,
    attempt_id: str,
    status: str,
    reason: str | None,
    provider_reference: str | None,
    now: datetime,
    provider_orders: Mapping[str, Sequence[str]] | None = None,
) -> ReceiptOutcome:
    """Record one receipt; ``provider_orders`` are each channel's providers by priority (the
    failover of a failed receipt; none: no failover)."""
    sent = await uow.delivery.sent(attempt_id, provider)
    if sent is None:
        if await uow.delivery.exists(attempt_id) and await uow.delivery.sent(attempt_id) is None:
            raise Conflict(f"attempt {attempt_id} was not sent yet; retry the receipt later")
        raise NotFound(f"no attempt {attempt_id} sent by provider {provider}")
    already = await uow.delivery.outcome_after(sent)
    if already is not None:
        return ReceiptOutcome(attempt_id, already, recorded=False, seconds_to_receipt=None)
    a = sent.attempt
    channel = a.channel or ""
    tried = failed_providers(a.context) | {provider}
    order = (provider_orders or {}).get(channel, ())
    failover = None if status == "delivered" else next_provider(order, provider, tried)
    reasons = [] if reason is None else [reason]
    if failover is not None:
        reasons.append(f"failing over to {failover}")
    received_at = await uow.delivery.append_receipt(sent, status, reasons, provider_reference)
    seconds = max((received_at - sent.sent_at).total_seconds(), 0.0)
    TIME_TO_RECEIPT.labels(provider=provider, channel=channel, status=status).observe(seconds)
    if failover is not None:
        context = {**a.context, FAILED_PROVIDERS: ",".join(sorted(tried))}
        await uow.batch.append_many(
            [
                attempt_row(
                    a,
                    "queued",
                    context=context,
                    reasons=[f"{provider} failed ({reason or 'no reason'}); next: {failover}"],
                )
            ]
        )
        return ReceiptOutcome(attempt_id, status, True, seconds, failed_over_to=failover)
    if status == "delivered":
        event = new_event(
            notifier.MessageDelivered(
                loan_id=a.loan_id or "",
                message_id=attempt_id,
                purpose=a.purpose,
                channel=channel,
                delivered_on=now.date(),
            ),
            source=uow.source,
        )
    else:
        event = new_event(
            notifier.MessageFailed(
                loan_id=a.loan_id or "",
                message_id=attempt_id,
                borrower_id=a.borrower_id,
                purpose=a.purpose,
                channel=channel,
                reason=reason or "provider reported failure",
                failed_at=now,
            ),
            source=uow.source,
        )
    await uow.emit(event)
    return ReceiptOutcome(attempt_id, status, recorded=True, seconds_to_receipt=seconds)
