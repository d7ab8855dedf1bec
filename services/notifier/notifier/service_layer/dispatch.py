"""Sending after commit. ``dispatch`` (1) re-decides deferred sends that are due (the policy
runs again: an opt-out since then is honoured), (2) reads queued attempts and their addresses,
commits, (3) sends each through its channel's providers outside any transaction, and (4)
records the outcome as new rows with its events. A crash between (2) and (4) leaves the
attempt queued: the next run sends it again with the same idempotency key (the attempt id).

One dispatcher per database (no claim row yet)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from lendkit.contracts import notifier
from lendkit.events import new_event
from notifier.adapters.providers import Failover, OutgoingMessage, ProviderError, Receipt
from notifier.adapters.repository import AttemptState
from notifier.domain.digest import digest_groups, is_urgent
from notifier.domain.templates import Rendered, render, render_digest
from notifier.service_layer.handlers import decide_and_record
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

log = logging.getLogger("notifier.dispatch")
CREDIT_REPORT_NOTICE = "credit_report_notice"


@dataclass(frozen=True, slots=True)
class DispatchResult:
    redecided: int
    sent: int
    failed: int


async def dispatch(
    uow_factory: Callable[[], NotifierUnitOfWork],
    providers: Mapping[str, Failover],
    now: datetime,
) -> DispatchResult:
    async with uow_factory() as uow:
        due = await uow.attempts.take_due(now)
        for attempt_id in due:
            latest = await uow.attempts.latest(attempt_id)
            if latest is not None and latest.state == "deferred":
                await decide_and_record(uow, latest, now)
        await uow.commit()
    async with uow_factory() as uow:
        ready = await uow.attempts.ready_to_send(now)
        outgoing = []
        for attempt in ready:
            profile = await uow.profiles.get(attempt.borrower_id)
            address = await uow.profiles.address(attempt.address_id or "")
            language = profile.language if profile else "en"
            outgoing.append((attempt, address, language))
    sent = failed = 0
    for group in digest_groups(outgoing, _digest_key):
        attempt, address, language = group[0]
        channel = attempt.channel or ""
        if len(group) == 1:
            rendered = render(attempt.purpose, language, channel, attempt.context)
        else:
            rendered = render_digest(
                [(a.purpose, a.context) for a, _, _ in group], language, channel
            )
        chain = providers.get(channel)
        error: str | None = None
        receipt = None
        if chain is None or address is None:
            error = "no provider for the channel" if chain is None else "no address"
        else:
            try:
                receipt = await chain.send(
                    OutgoingMessage(
                        attempt.attempt_id, channel, address, rendered.body, attempt.purpose
                    )
                )
            except ProviderError as exc:
                error = str(exc)
        for attempt, _, _ in group:
            s, f = await _record(uow_factory, attempt, rendered, receipt, error, len(group), now)
            sent, failed = sent + s, failed + f
    return DispatchResult(redecided=len(due), sent=sent, failed=failed)


def _digest_key(item: tuple[AttemptState, str | None, str]) -> tuple[str, str, str] | None:
    """Non-urgent messages to one borrower on one channel and business day share a digest."""
    attempt, _, _ = item
    if is_urgent(attempt.purpose, attempt.mandatory) or attempt.context.get("kind"):
        return None
    day = attempt.context.get("business_date", "")
    return (attempt.borrower_id, attempt.channel or "", day)


async def _record(
    uow_factory: Callable[[], NotifierUnitOfWork],
    attempt: AttemptState,
    rendered: Rendered,
    receipt: Receipt | None,
    error: str | None,
    digest_of: int,
    now: datetime,
) -> tuple[int, int]:
    """One attempt's outcome as new rows and events; (sent, failed)."""
    sent = failed = 0
    channel = attempt.channel or ""
    async with uow_factory() as uow:
        common = {"template": rendered.template, "template_version": rendered.version}
        loan_id = attempt.loan_id or ""
        if receipt is None:
            failed += 1
            log.warning("message failed", extra={"attempt_id": attempt.attempt_id})
            await uow.attempts.append(attempt, "failed", reasons=[error or "failed"], **common)
            await uow.emit(
                new_event(
                    notifier.MessageFailed(
                        loan_id=loan_id,
                        message_id=attempt.attempt_id,
                        borrower_id=attempt.borrower_id,
                        purpose=attempt.purpose,
                        channel=channel,
                        reason=error or "failed",
                        failed_at=now,
                    ),
                    source=uow.source,
                )
            )
        else:
            sent += 1
            notes = [f"digest of {digest_of}"] if digest_of > 1 else []
            await uow.attempts.append(
                attempt, "sent", provider=receipt.provider, reasons=notes, occurred_at=now, **common
            )
            events = [
                new_event(
                    notifier.MessageSent(
                        loan_id=loan_id,
                        message_id=attempt.attempt_id,
                        borrower_id=attempt.borrower_id,
                        purpose=attempt.purpose,
                        channel=channel,
                        provider=receipt.provider,
                        template_version=rendered.version,
                        sent_at=now,
                    ),
                    source=uow.source,
                )
            ]
            if receipt.delivered:
                await uow.attempts.append(attempt, "delivered", provider=receipt.provider, **common)
                events.append(
                    new_event(
                        notifier.MessageDelivered(
                            loan_id=loan_id,
                            message_id=attempt.attempt_id,
                            purpose=attempt.purpose,
                            channel=channel,
                            delivered_on=now.date(),
                        ),
                        source=uow.source,
                    )
                )
            await uow.emit_all(events)
        await uow.commit()
    return sent, failed
