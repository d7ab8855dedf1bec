"""Facts from the ledger and overdue services become triggers; each trigger is decided by the
contact policy and recorded (append-only) in the consumer's transaction. Nothing is sent
here: ``dispatch`` sends queued attempts after commit."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid5

from lendkit.consumer.handlers import rejecting
from lendkit.contracts import ledger, notifier, overdue
from lendkit.contracts.policies import NotificationPolicySpec, OverduePolicySpec
from lendkit.events import CloudEvent, new_event
from notifier.adapters.repository import AttemptState, ProductTerms
from notifier.domain.policy import (
    Channel,
    ContactPolicy,
    ContactRequest,
    ContactRules,
    Decision,
    Jurisdiction,
    Outcome,
    QuietHours,
    Rule,
)
from notifier.domain.profile import MANDATORY_PURPOSES, Trigger
from notifier.domain.templates import TEMPLATE_VERSION, money
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

POLICY = ContactPolicy()


def rules_from(spec: NotificationPolicySpec) -> ContactRules:
    """A product's notification policy as the contact policy's rules (stricter, never looser:
    the spec bounds each cap by its regulatory maximum)."""
    defaults = ContactRules()
    quiet = dict(defaults.quiet_hours)
    for q in spec.quiet_hours:
        quiet[Jurisdiction(q.jurisdiction if q.jurisdiction in ("CN", "US") else "other")] = (
            QuietHours(time.fromisoformat(q.start), time.fromisoformat(q.end))
        )
    return ContactRules(
        quiet_hours=quiet,
        calls_per_window=spec.max_call_attempts_per_7_days,
        days_after_conversation=spec.no_calls_days_after_conversation,
        unanswered_per_number_per_day=spec.max_unanswered_attempts_per_day_per_number,
        robot_connected_per_day=spec.max_connected_voice_calls_per_day,
    )


async def _policy_for(uow: NotifierUnitOfWork, loan_id: str) -> ContactPolicy:
    terms = await uow.products.terms_of_loan(loan_id)
    if terms is None or not terms.notification_policy:
        return POLICY
    return ContactPolicy(
        rules_from(NotificationPolicySpec.model_validate(terms.notification_policy))
    )


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
                c.channel: c.address_id
                for c in profile.by_priority()
                if c.channel is not Channel.CALL
            },
            timezone=profile.timezone,
            jurisdiction=profile.jurisdiction,
            opted_out=frozenset(c.channel for c in profile.channels if c.opted_out),
            mandatory=attempt.mandatory,
            calls=await uow.attempts.past_calls(attempt.borrower_id, now - timedelta(days=8)),
        )
        policy = await _policy_for(uow, attempt.loan_id or "")
        decision = policy.decide(request)
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


@rejecting()
async def on_product_published(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    product = event.payload(ledger.ProductPublished)
    overdue_policy = OverduePolicySpec.model_validate(product.overdue_policy)
    NotificationPolicySpec.model_validate(product.notification_policy)  # refuse an invalid one
    await uow.products.put(
        product.code,
        ProductTerms(
            penalty_daily_rate=str(overdue_policy.penalty_daily_rate),
            credit_report_notice_dpd=overdue_policy.credit_report_notice_dpd,
            notification_policy=product.notification_policy,
        ),
    )


async def on_loan_disbursed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    loan = event.payload(ledger.LoanDisbursed)
    await uow.loans.add(
        loan.loan_id, loan.borrower_id, loan.product_code, loan.currency, loan.timezone
    )


def due_reminder(event: CloudEvent, terms: ProductTerms | None) -> Trigger:
    due = event.payload(ledger.RepaymentDue)
    context = {
        "amount": money(due.amount_due_minor, due.currency, "en"),
        "amount_minor": str(due.amount_due_minor),
        "currency": due.currency,
        "due_date": due.due_date.isoformat(),
        # The product's own figures; "" when the product was never published here (the
        # template then leaves the line out rather than state a rate that may be wrong).
        "penalty_rate": ""
        if terms is None
        else f"{(Decimal(terms.penalty_daily_rate) * 100).normalize():f}%",
        "credit_report_dpd": "" if terms is None else str(terms.credit_report_notice_dpd),
    }
    return _trigger(event, due.loan_id, due.borrower_id, "due_reminder", context)


def overdue_notice(event: CloudEvent) -> Trigger:
    fact = event.payload(overdue.LoanBecameOverdue)
    context = {
        "amount": money(fact.overdue_minor, fact.currency, "en"),
        "amount_minor": str(fact.overdue_minor),
        "currency": fact.currency,
        "days": str(fact.days_past_due),
    }
    return _trigger(event, fact.loan_id, fact.borrower_id, "became_overdue", context)


async def on_repayment_due(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    due = event.payload(ledger.RepaymentDue)
    terms = await uow.products.terms_of_loan(due.loan_id)
    await notify(uow, due_reminder(event, terms), CLOCK.now())


async def on_loan_became_overdue(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    await notify(uow, overdue_notice(event), CLOCK.now())


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
