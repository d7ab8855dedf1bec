"""Facts from the ledger and overdue services become triggers; each trigger is decided by the
contact policy and recorded (append-only) in the consumer's transaction. Nothing is sent
here: ``dispatch`` sends queued attempts after commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, uuid5

from lendkit.consumer.handlers import rejecting
from lendkit.contracts import ledger, notifier, overdue
from lendkit.events import CloudEvent, new_event
from notifier.adapters.repository import AttemptState
from notifier.domain.policy import (
    Channel,
    ContactPolicy,
    ContactRequest,
    Decision,
    Outcome,
    Rule,
)
from notifier.domain.profile import MANDATORY_PURPOSES, Trigger
from notifier.domain.templates import TEMPLATE_VERSION, money
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

POLICY = ContactPolicy()
HELP_URL = "https://help.example/loans"


def _trigger(
    event: CloudEvent, loan_id: str, borrower_id: str, purpose: str, context: dict[str, str]
) -> Trigger:
    return Trigger(
        trigger_key=f"{purpose}:{loan_id}:{event.id}",
        loan_id=loan_id,
        borrower_id=borrower_id,
        purpose=purpose,
        mandatory=purpose in MANDATORY_PURPOSES,
        context={"loan_id": loan_id, "help_url": HELP_URL, **context},
    )


async def notify(uow: NotifierUnitOfWork, trigger: Trigger, now: datetime) -> Decision | None:
    """Decide and record one trigger; None when it was already decided (same trigger twice)."""
    attempt_id = str(uuid5(NAMESPACE_URL, trigger.trigger_key))
    started = await uow.attempts.start(
        attempt_id,
        trigger.trigger_key,
        trigger.borrower_id,
        trigger.loan_id,
        trigger.purpose,
        trigger.mandatory,
        trigger.context,
    )
    if not started:
        return None
    first = AttemptState(
        attempt_id=attempt_id,
        trigger_key=trigger.trigger_key,
        borrower_id=trigger.borrower_id,
        loan_id=trigger.loan_id,
        purpose=trigger.purpose,
        mandatory=trigger.mandatory,
        state="decided",
        channel=None,
        address_id=None,
        template=None,
        template_version=None,
        context=trigger.context,
    )
    return await decide_and_record(uow, first, now)


async def decide_and_record(
    uow: NotifierUnitOfWork, attempt: AttemptState, now: datetime
) -> Decision:
    profile = await uow.profiles.get(attempt.borrower_id)
    if profile is None:
        decision = Decision(
            Outcome.UNDELIVERABLE if attempt.mandatory else Outcome.SUPPRESSED,
            rule=Rule.NO_ADDRESS,
            reasons=("no contact profile",),
        )
    else:
        # Calls are call-centre tasks (strategy not built yet): messages go by push, sms, email.
        ordered = [c.channel for c in profile.by_priority() if c.channel is not Channel.CALL]
        request = ContactRequest(
            borrower_id=attempt.borrower_id,
            debt_id=attempt.loan_id or "",
            purpose=attempt.purpose,
            now=now,
            channels=ordered[:1],
            addresses={
                c.channel: c.address_id for c in profile.channels if c.channel is not Channel.CALL
            },
            timezone=profile.timezone,
            jurisdiction=profile.jurisdiction,
            opted_out=frozenset(c.channel for c in profile.channels if c.opted_out),
            mandatory=attempt.mandatory,
            calls=await uow.attempts.past_calls(attempt.borrower_id, now - timedelta(days=8)),
        )
        decision = POLICY.decide(request)
    address_id = None
    if profile is not None and decision.channel is not None:
        address_id = next(c.address_id for c in profile.channels if c.channel is decision.channel)
    common = {
        "channel": decision.channel.value if decision.channel else None,
        "address_id": address_id,
        "rule": decision.rule.value if decision.rule else None,
        "reasons": list(decision.reasons),
        "template": attempt.purpose,
        "template_version": TEMPLATE_VERSION,
    }
    loan_id = attempt.loan_id or ""
    if decision.outcome is Outcome.SENT:
        await uow.attempts.append(attempt, "queued", **common)
    elif decision.outcome is Outcome.DEFERRED:
        assert decision.until is not None and decision.channel is not None
        await uow.attempts.append(attempt, "deferred", until=decision.until, **common)
        await uow.attempts.defer(attempt.attempt_id, decision.until)
        await uow.emit(
            new_event(
                notifier.MessageDeferred(
                    loan_id=loan_id,
                    message_id=attempt.attempt_id,
                    borrower_id=attempt.borrower_id,
                    purpose=attempt.purpose,
                    channel=decision.channel.value,
                    until=decision.until,
                    decided_at=now,
                ),
                source=uow.source,
            )
        )
    else:
        await uow.attempts.append(attempt, decision.outcome.value, **common)
        await uow.emit(
            new_event(
                notifier.MessageSuppressed(
                    loan_id=loan_id,
                    message_id=attempt.attempt_id,
                    borrower_id=attempt.borrower_id,
                    purpose=attempt.purpose,
                    rule=(decision.rule or Rule.NO_ALLOWED_CHANNEL).value,
                    undeliverable=decision.outcome is Outcome.UNDELIVERABLE,
                    decided_at=now,
                ),
                source=uow.source,
            )
        )
    return decision


async def on_loan_disbursed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    loan = event.payload(ledger.LoanDisbursed)
    await uow.loans.add(
        loan.loan_id, loan.borrower_id, loan.product_code, loan.currency, loan.timezone
    )


async def on_repayment_due(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    due = event.payload(ledger.RepaymentDue)
    context = {
        "amount": money(due.amount_due_minor, due.currency, "en"),
        "amount_minor": str(due.amount_due_minor),
        "currency": due.currency,
        "due_date": due.due_date.isoformat(),
        "penalty_rate": "0.05%",
    }
    await notify(
        uow, _trigger(event, due.loan_id, due.borrower_id, "due_reminder", context), CLOCK.now()
    )


async def on_loan_became_overdue(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.LoanBecameOverdue)
    context = {
        "amount": money(fact.overdue_minor, fact.currency, "en"),
        "amount_minor": str(fact.overdue_minor),
        "currency": fact.currency,
        "days": str(fact.days_past_due),
    }
    await notify(
        uow, _trigger(event, fact.loan_id, fact.borrower_id, "became_overdue", context), CLOCK.now()
    )


@rejecting()
async def on_stage_changed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.StageChanged)
    borrower = await uow.loans.borrower_of(fact.loan_id)
    if borrower is None:
        return  # a loan this service never saw disbursed: nobody to contact
    trigger = _trigger(
        event, fact.loan_id, borrower, "stage_changed", {"stage": str(fact.to_stage)}
    )
    await notify(uow, trigger, CLOCK.now())


async def on_credit_report_notice_due(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.CreditReportNoticeDue)
    trigger = _trigger(
        event,
        fact.loan_id,
        fact.borrower_id,
        "credit_report_notice",
        {"days": str(fact.days_past_due)},
    )
    await notify(uow, trigger, CLOCK.now())


async def on_loan_cured(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.LoanCured)
    borrower = await uow.loans.borrower_of(fact.loan_id)
    if borrower is None:
        return
    await notify(uow, _trigger(event, fact.loan_id, borrower, "cured", {}), CLOCK.now())
