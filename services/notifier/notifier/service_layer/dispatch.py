"""Sending after commit. ``dispatch`` (1) re-decides deferred sends that are due (the policy
runs again: an opt-out since then is honoured), (2) reads queued attempts and their addresses,
commits, (3) sends each through its channel's providers outside any transaction, and (4)
records the outcome as new rows with its events. A crash between (2) and (4) leaves the
attempt queued: the next run sends it again with the same idempotency key (the attempt id).

Set-based per round: the queue (``send_queue``), addresses and languages are read with a few
statements, and the round's outcomes are written in one transaction. One round at a time per
database: a round holds the dispatching lock (``attempts.lead_dispatch``, a transaction-scoped
advisory lock on a connection of its own) from its first read to its last write, so the
dispatchers of several worker processes never send the same queued attempt twice; a process
that finds the lock taken skips the round.

Digests: non-urgent messages to one borrower on one channel and business day that are ready
together are one message (``domain.digest``); each of its attempts is recorded as sent by it.
``now`` is the notifier's clock (simulated when the simulator set it): sent rows carry it as
``occurred_at``, which the strategy's cadence counts. An attempt queued again after a failed
delivery receipt (``receipts``) skips the providers that failed it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError

from lendkit.contracts import notifier
from lendkit.events import CloudEvent, new_event
from notifier.adapters.providers import Failover, OutgoingMessage, ProviderError, Receipt
from notifier.adapters.repository import AttemptState
from notifier.domain.digest import digest_groups, is_urgent
from notifier.domain.templates import TEMPLATE_VERSION, Rendered, render, render_digest
from notifier.service_layer.batch_notify import attempt_row, decide_many, redecide_quiet
from notifier.service_layer.receipts import failed_providers
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

log = logging.getLogger("notifier.dispatch")
CREDIT_REPORT_NOTICE = "credit_report_notice"


@dataclass(frozen=True, slots=True)
class DispatchResult:
    redecided: int
    sent: int
    failed: int
    #: The round took as many attempts as it may (due deferrals or queued sends): more are
    #: most likely waiting, and the next round should follow at once.
    full: bool = False


async def dispatch_until_stopped(
    uow_factory: Callable[[], NotifierUnitOfWork],
    providers: Callable[[], Mapping[str, Failover]],
    now: Callable[[], Awaitable[datetime]],
    *,
    stopping: asyncio.Event,
    interval_s: float,
    limit: int = 500,
) -> None:
    """The dispatcher: rounds one after another while each is full (a backlog, such as the
    morning after a close of business, is sent at the rate the rounds go, not ``limit`` per
    interval), and a pause of ``interval_s`` after a round that emptied the queue. ``now``
    is read before each round (the notifier's clock, which the simulator moves), and so are
    ``providers`` (the runtime's, which may be replaced while it runs)."""
    while not stopping.is_set():
        result = await dispatch(uow_factory, providers(), await now(), limit=limit)
        if result.full:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=interval_s)


async def dispatch(
    uow_factory: Callable[[], NotifierUnitOfWork],
    providers: Mapping[str, Failover],
    now: datetime,
    *,
    limit: int = 500,
) -> DispatchResult:
    """One round: due deferred sends re-decided, then up to ``limit`` queued attempts sent
    and their outcomes recorded together in one transaction (a crash before that commit
    resends them, with the same idempotency keys). Nothing when another process's
    dispatcher is in its round."""
    async with uow_factory() as leader:
        if not await leader.attempts.lead_dispatch():
            return DispatchResult(redecided=0, sent=0, failed=0)
        return await _round(uow_factory, providers, now, limit)


async def _round(
    uow_factory: Callable[[], NotifierUnitOfWork],
    providers: Mapping[str, Failover],
    now: datetime,
    limit: int,
) -> DispatchResult:
    async with uow_factory() as uow:
        due = await uow.attempts.take_due(now, limit=limit)
        full = len(due) >= limit
        latest = [await uow.attempts.latest(attempt_id) for attempt_id in due]
        await decide_many(uow, [a for a in latest if a is not None and a.state == "deferred"], now)
        await uow.commit()
    async with uow_factory() as uow:
        # Exactly what this round sends is checked against the quiet hours at ``now``.
        ready = await uow.attempts.ready_to_send(now, limit=limit)
        full = full or len(ready) >= limit
        whereabouts = await uow.batch.whereabouts(a.borrower_id for a in ready)
        quiet = await redecide_quiet(uow, ready, whereabouts, now)
        if quiet:
            await uow.commit()
            ready = [a for a in ready if a.attempt_id not in quiet]
        addresses = await uow.batch.addresses(a.address_id for a in ready if a.address_id)
    languages = {b: w.language for b, w in whereabouts.items()}
    outcomes: list[tuple[AttemptState, Rendered, Receipt | None, str | None, int]] = []
    alone: dict[str, Rendered] = {}
    for attempt in ready:  # a poison attempt fails alone (outside any digest), the round goes on
        language = languages.get(attempt.borrower_id, "en")
        try:
            alone[attempt.attempt_id] = render(
                attempt.purpose, language, attempt.channel or "", attempt.context
            )
        except TemplateError as exc:
            rendered = Rendered(f"{language}/{attempt.purpose}", TEMPLATE_VERSION, "")
            outcomes.append((attempt, rendered, None, f"template: {type(exc).__name__}", 1))
    renderable = [a for a in ready if a.attempt_id in alone]
    for group in digest_groups(renderable, _digest_key):
        attempt = group[0]
        channel = attempt.channel or ""
        language = languages.get(attempt.borrower_id, "en")
        if len(group) == 1:
            rendered = alone[attempt.attempt_id]
        else:
            rendered = render_digest([(a.purpose, a.context) for a in group], language, channel)
        error: str | None = None
        receipt: Receipt | None = None
        address = addresses.get(attempt.address_id or "")
        chain = providers.get(channel)
        if chain is None or address is None:
            error = "no provider for the channel" if chain is None else "no address"
        else:
            try:
                receipt = await chain.send(
                    OutgoingMessage(
                        attempt.attempt_id, channel, address, rendered.body, attempt.purpose
                    ),
                    skip=failed_providers(attempt.context),
                )
            except ProviderError as exc:
                error = str(exc)
        outcomes.extend((a, rendered, receipt, error, len(group)) for a in group)
    if not outcomes:
        return DispatchResult(redecided=len(due), sent=0, failed=0, full=full)
    rows: list[dict[str, Any]] = []
    events: list[CloudEvent] = []
    sent = failed = 0
    async with uow_factory() as uow:
        for attempt, rendered, receipt, error, digest_of in outcomes:
            common = {"template": rendered.template, "template_version": rendered.version}
            if receipt is None:
                failed += 1
                log.warning("message failed", extra={"attempt_id": attempt.attempt_id})
                rows.append(attempt_row(attempt, "failed", reasons=[error or "failed"], **common))
                events.append(_failed(attempt, error or "failed", now, uow.source))
            else:
                sent += 1
                notes = [f"digest of {digest_of}"] if digest_of > 1 else []
                rows.append(
                    attempt_row(
                        attempt,
                        "sent",
                        provider=receipt.provider,
                        reasons=notes,
                        occurred_at=now,
                        **common,
                    )
                )
                events.append(_sent(attempt, receipt.provider, rendered.version, now, uow.source))
                if receipt.delivered:
                    rows.append(
                        attempt_row(attempt, "delivered", provider=receipt.provider, **common)
                    )
                    events.append(_delivered(attempt, now, uow.source))
        await uow.batch.append_many(rows)
        await uow.emit_all(events)
        await uow.commit()
    return DispatchResult(redecided=len(due), sent=sent, failed=failed, full=full)


def _digest_key(attempt: AttemptState) -> tuple[str, str, str] | None:
    """Non-urgent messages to one borrower on one channel and business day share a digest;
    an attempt failed over from a provider goes alone (it must skip that provider)."""
    if (
        is_urgent(attempt.purpose, attempt.mandatory)
        or attempt.context.get("kind")
        or failed_providers(attempt.context)
    ):
        return None
    return (attempt.borrower_id, attempt.channel or "", attempt.context.get("business_date", ""))


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
