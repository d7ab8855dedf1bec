"""Delivery receipts: a provider's signed callback says an attempt it was handed was delivered
or failed. The receipt is a new row of the attempt (append-only) with its event; the first
receipt after the send decides, a replay or a later contradicting receipt records nothing.
The time from the ``sent`` row to the receipt is observed per provider and channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lendkit.contracts import notifier
from lendkit.errors import Conflict, NotFound
from lendkit.events import new_event
from notifier.metrics import TIME_TO_RECEIPT
from notifier.service_layer.unit_of_work import NotifierUnitOfWork


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    attempt_id: str
    state: str
    recorded: bool
    """False for a replayed or late receipt: the attempt's outcome was already recorded."""
    seconds_to_receipt: float | None


async def record_receipt(
    uow: NotifierUnitOfWork,
    *,
    provider: str,
    attempt_id: str,
    status: str,
    reason: str | None,
    provider_reference: str | None,
    now: datetime,
) -> ReceiptOutcome:
    sent = await uow.delivery.sent(attempt_id)
    if sent is None or sent.provider != provider:
        if sent is None and await uow.delivery.exists(attempt_id):
            raise Conflict(f"attempt {attempt_id} was not sent yet; retry the receipt later")
        raise NotFound(f"no attempt {attempt_id} sent by provider {provider}")
    already = await uow.delivery.outcome_after(attempt_id, sent.sent_at)
    if already is not None:
        return ReceiptOutcome(attempt_id, already, recorded=False, seconds_to_receipt=None)
    reasons = [] if reason is None else [reason]
    received_at = await uow.delivery.append_receipt(sent, status, reasons, provider_reference)
    seconds = max((received_at - sent.sent_at).total_seconds(), 0.0)
    a = sent.attempt
    channel = a.channel or ""
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
    TIME_TO_RECEIPT.labels(provider=provider, channel=channel, status=status).observe(seconds)
    return ReceiptOutcome(attempt_id, status, recorded=True, seconds_to_receipt=seconds)
