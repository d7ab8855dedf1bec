"""Many triggers decided and recorded at once (the consumer's batch mode): the same rows and
events as ``handlers.notify`` one trigger at a time (a test holds the two to each other),
with a handful of statements per batch instead of several per trigger.

Triggers of one batch cannot change each other's decisions: messages are decided on the
profile, the hour and the opt-outs, and only calls (recorded elsewhere, with their outcome)
count towards the call caps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from lendkit.consumer import Batchable
from lendkit.contracts import ledger, notifier
from lendkit.contracts.policies import NotificationPolicySpec
from lendkit.events import CloudEvent, new_event
from notifier.adapters.repository import ProductTerms
from notifier.domain.policy import (
    Channel,
    ContactPolicy,
    ContactRequest,
    Decision,
    Outcome,
    PastCall,
    Rule,
)
from notifier.domain.profile import ContactProfile, Trigger
from notifier.domain.templates import TEMPLATE_VERSION
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.handlers import POLICY, due_reminder, overdue_notice, rules_from
from notifier.service_layer.unit_of_work import NotifierUnitOfWork


def attempt_id_of(trigger: Trigger) -> str:
    return str(uuid5(NAMESPACE_URL, trigger.trigger_key))


def decide_trigger(
    trigger: Trigger,
    profile: ContactProfile | None,
    calls: tuple[PastCall, ...],
    policy: ContactPolicy,
    now: datetime,
) -> tuple[Decision, str | None]:
    """The policy's decision for one trigger and the address id of its channel (pure)."""
    if profile is None:
        decision = Decision(
            Outcome.UNDELIVERABLE if trigger.mandatory else Outcome.SUPPRESSED,
            rule=Rule.NO_ADDRESS,
            reasons=("no contact profile",),
        )
        return decision, None
    messaging = [c for c in profile.by_priority() if c.channel is not Channel.CALL]
    decision = policy.decide(
        ContactRequest(
            borrower_id=trigger.borrower_id,
            debt_id=trigger.loan_id or "",
            purpose=trigger.purpose,
            now=now,
            channels=[c.channel for c in messaging][:1],
            addresses={c.channel: c.address_id for c in messaging},
            timezone=profile.timezone,
            jurisdiction=profile.jurisdiction,
            opted_out=frozenset(c.channel for c in profile.channels if c.opted_out),
            mandatory=trigger.mandatory,
            calls=calls,
        )
    )
    address_id = None
    if decision.channel is not None:
        address_id = next(c.address_id for c in profile.channels if c.channel is decision.channel)
    return decision, address_id


async def notify_many(uow: NotifierUnitOfWork, triggers: Sequence[Trigger], now: datetime) -> int:
    """Decide and record every trigger not decided before; how many were decided now."""
    first_rows = [
        {
            "attempt_id": attempt_id_of(t),
            "trigger_key": t.trigger_key,
            "borrower_id": t.borrower_id,
            "loan_id": t.loan_id,
            "purpose": t.purpose,
            "mandatory": t.mandatory,
            "context": t.context,
        }
        for t in triggers
    ]
    started = await uow.batch.start_many(first_rows)
    fresh: dict[str, Trigger] = {}
    for t in triggers:
        key = attempt_id_of(t)
        if key in started and key not in fresh:
            fresh[key] = t
    if not fresh:
        return 0
    borrowers = {t.borrower_id for t in fresh.values()}
    profiles = await uow.batch.profiles(borrowers)
    calls = await uow.batch.past_calls(borrowers, now - timedelta(days=8))
    terms = await uow.batch.terms_of_loans(t.loan_id for t in fresh.values() if t.loan_id)
    policies: dict[str, ContactPolicy] = {}

    def policy_of(loan_id: str | None) -> ContactPolicy:
        found = terms.get(loan_id or "")
        if found is None or not found.notification_policy:
            return POLICY
        key = json.dumps(found.notification_policy, sort_keys=True)
        if key not in policies:
            spec = NotificationPolicySpec.model_validate(found.notification_policy)
            policies[key] = ContactPolicy(rules_from(spec))
        return policies[key]

    rows: list[dict[str, Any]] = []
    deferred: list[tuple[str, datetime]] = []
    events: list[CloudEvent] = []
    for attempt_id, t in fresh.items():
        decision, address_id = decide_trigger(
            t, profiles.get(t.borrower_id), calls.get(t.borrower_id, ()), policy_of(t.loan_id), now
        )
        row, event = _recorded(attempt_id, t, decision, address_id, now, uow.source)
        rows.append(row)
        if decision.outcome is Outcome.DEFERRED:
            assert decision.until is not None
            deferred.append((attempt_id, decision.until))
        if event is not None:
            events.append(event)
    await uow.batch.append_many(rows)
    await uow.batch.defer_many(deferred)
    await uow.emit_all(events)
    return len(fresh)


def _recorded(
    attempt_id: str,
    t: Trigger,
    decision: Decision,
    address_id: str | None,
    now: datetime,
    source: str,
) -> tuple[dict[str, Any], CloudEvent | None]:
    """The decision's row of the record and its event (None for a queued send)."""
    channel = decision.channel.value if decision.channel else None
    state = {
        Outcome.SENT: "queued",
        Outcome.DEFERRED: "deferred",
    }.get(decision.outcome, decision.outcome.value)
    row: dict[str, Any] = {
        "attempt_id": attempt_id,
        "trigger_key": t.trigger_key,
        "borrower_id": t.borrower_id,
        "loan_id": t.loan_id,
        "purpose": t.purpose,
        "mandatory": t.mandatory,
        "context": t.context,
        "state": state,
        "channel": channel,
        "address_id": address_id,
        "rule": decision.rule.value if decision.rule else None,
        "reasons": list(decision.reasons),
        "template": t.purpose,
        "template_version": TEMPLATE_VERSION,
        "until": decision.until if decision.outcome is Outcome.DEFERRED else None,
    }
    loan_id = t.loan_id or ""
    if decision.outcome is Outcome.SENT:
        return row, None
    if decision.outcome is Outcome.DEFERRED:
        assert decision.until is not None and channel is not None
        payload: Any = notifier.MessageDeferred(
            loan_id=loan_id,
            message_id=attempt_id,
            borrower_id=t.borrower_id,
            purpose=t.purpose,
            channel=channel,
            until=decision.until,
            decided_at=now,
        )
    else:
        payload = notifier.MessageSuppressed(
            loan_id=loan_id,
            message_id=attempt_id,
            borrower_id=t.borrower_id,
            purpose=t.purpose,
            rule=(decision.rule or Rule.NO_ALLOWED_CHANNEL).value,
            undeliverable=decision.outcome is Outcome.UNDELIVERABLE,
            decided_at=now,
        )
    return row, new_event(payload, source=source)


async def _on_repayments_due(uow: NotifierUnitOfWork, events: list[CloudEvent]) -> None:
    loans = [e.payload(ledger.RepaymentDue).loan_id for e in events]
    terms: dict[str, ProductTerms] = await uow.batch.terms_of_loans(loans)
    triggers = [due_reminder(e, terms.get(loan)) for e, loan in zip(events, loans, strict=True)]
    await notify_many(uow, triggers, CLOCK.now())


async def _on_loans_became_overdue(uow: NotifierUnitOfWork, events: list[CloudEvent]) -> None:
    await notify_many(uow, [overdue_notice(e) for e in events], CLOCK.now())


#: The consumer's batch handlers (one event at a time through them is the same effect).
on_repayments_due = Batchable(_on_repayments_due)
on_loans_became_overdue = Batchable(_on_loans_became_overdue)
