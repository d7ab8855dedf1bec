"""Sending after commit. ``dispatch`` (1) re-decides deferred sends that are due (the policy
runs again: an opt-out since then is honoured), (2) reads queued attempts and their addresses,
commits, (3) sends each through its channel's providers outside any transaction, and (4)
records the outcome as new rows with its events. A crash between (2) and (4) leaves the
attempt queued: the next run sends it again with the same idempotency key (the attempt id).

Set-based per round: the queue (``send_queue``), addresses and languages are read with a few
statements, and the round's outcomes are written in one transaction. One dispatcher per
database (no claim row yet)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError

from lendkit.contracts import notifier
from lendkit.events import CloudEvent, new_event
from notifier.adapters.providers import Failover, OutgoingMessage, ProviderError, Receipt
from notifier.adapters.repository import AttemptState
from notifier.domain.templates import TEMPLATE_VERSION, Rendered, render
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
    *,
    limit: int = 500,
) -> DispatchResult:
    """One round: due deferred sends re-decided, then up to ``limit`` queued attempts sent
    and their outcomes recorded together in one transaction (a crash before that commit
    resends them, with the same idempotency keys)."""
    async with uow_factory() as uow:
        due = await uow.attempts.take_due(now, limit=limit)
        for attempt_id in due:
            latest = await uow.attempts.latest(attempt_id)
            if latest is not None and latest.state == "deferred":
                await decide_and_record(uow, latest, now)
        await uow.commit()
    async with uow_factory() as uow:
        ready = await uow.attempts.ready_to_send(now, limit=limit)
        addresses = await uow.batch.addresses(a.address_id for a in ready if a.address_id)
        languages = await uow.batch.languages(a.borrower_id for a in ready)
    outcomes = []
    for attempt in ready:
        channel = attempt.channel or ""
        language = languages.get(attempt.borrower_id, "en")
        error: str | None = None
        receipt: Receipt | None = None
        try:
            rendered = render(attempt.purpose, language, channel, attempt.context)
        except TemplateError as exc:  # a poison attempt fails alone, the round goes on
            rendered = Rendered(f"{language}/{attempt.purpose}", TEMPLATE_VERSION, "")
            error = f"template: {type(exc).__name__}"
        address = addresses.get(attempt.address_id or "")
        chain = providers.get(channel)
        if error is None and (chain is None or address is None):
            error = "no provider for the channel" if chain is None else "no address"
        elif error is None and chain is not None and address is not None:
            try:
                receipt = await chain.send(
                    OutgoingMessage(
                        attempt.attempt_id, channel, address, rendered.body, attempt.purpose
                    )
                )
            except ProviderError as exc:
                error = str(exc)
        outcomes.append((attempt, rendered, receipt, error))
    if not outcomes:
        return DispatchResult(redecided=len(due), sent=0, failed=0)
    rows: list[dict[str, Any]] = []
    events: list[CloudEvent] = []
    sent = failed = 0
    async with uow_factory() as uow:
        for attempt, rendered, receipt, error in outcomes:
            common = {"template": rendered.template, "template_version": rendered.version}
            if receipt is None:
                failed += 1
                log.warning("message failed", extra={"attempt_id": attempt.attempt_id})
                rows.append(_row(attempt, "failed", reasons=[error or "failed"], **common))
                events.append(_failed(attempt, error or "failed", now, uow.source))
            else:
                sent += 1
                rows.append(_row(attempt, "sent", provider=receipt.provider, **common))
                events.append(_sent(attempt, receipt.provider, rendered.version, now, uow.source))
                if receipt.delivered:
                    rows.append(_row(attempt, "delivered", provider=receipt.provider, **common))
                    events.append(_delivered(attempt, now, uow.source))
        await uow.batch.append_many(rows)
        await uow.emit_all(events)
        await uow.commit()
    return DispatchResult(redecided=len(due), sent=sent, failed=failed)


def _row(attempt: AttemptState, state: str, **fields: Any) -> dict[str, Any]:
    """A new row of the attempt (what ``AttemptRepository.append`` writes)."""
    return {
        "attempt_id": attempt.attempt_id,
        "trigger_key": attempt.trigger_key,
        "borrower_id": attempt.borrower_id,
        "loan_id": attempt.loan_id,
        "purpose": attempt.purpose,
        "mandatory": attempt.mandatory,
        "channel": attempt.channel,
        "address_id": attempt.address_id,
        "template": attempt.template,
        "template_version": attempt.template_version,
        "context": attempt.context,
        "state": state,
        "provider": None,
        "reasons": [],
        **fields,
    }


def _failed(attempt: AttemptState, reason: str, now: datetime, source: str) -> CloudEvent:
    return new_event(
        notifier.MessageFailed(
            loan_id=attempt.loan_id or "",
            message_id=attempt.attempt_id,
            borrower_id=attempt.borrower_id,
            purpose=attempt.purpose,
            channel=attempt.channel or "",
            reason=reason,
            failed_at=now,
        ),
        source=source,
    )


def _sent(
    attempt: AttemptState, provider: str, version: str, now: datetime, source: str
) -> CloudEvent:
    return new_event(
        notifier.MessageSent(
            loan_id=attempt.loan_id or "",
            message_id=attempt.attempt_id,
            borrower_id=attempt.borrower_id,
            purpose=attempt.purpose,
            channel=attempt.channel or "",
            provider=provider,
            template_version=version,
            sent_at=now,
        ),
        source=source,
    )


def _delivered(attempt: AttemptState, now: datetime, source: str) -> CloudEvent:
    return new_event(
        notifier.MessageDelivered(
            loan_id=attempt.loan_id or "",
            message_id=attempt.attempt_id,
            purpose=attempt.purpose,
            channel=attempt.channel or "",
            delivered_on=now.date(),
        ),
        source=source,
    )
