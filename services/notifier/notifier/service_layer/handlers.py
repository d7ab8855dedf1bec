"""Facts from the ledger and overdue services become triggers; each trigger is decided by the
contact policy and recorded (append-only) in the consumer's transaction. Nothing is sent
here: ``dispatch`` sends queued attempts after commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid5

from lendkit.consumer.handlers import rejecting
from lendkit.contracts import ledger, notifier, overdue, restructure
from lendkit.contracts.policies import NotificationPolicySpec, OverduePolicySpec
from lendkit.events import CloudEvent, new_event
from notifier.adapters.repository import AttemptState, ProductTerms
from notifier.domain.digest import is_urgent
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
from notifier.domain.profile import (
    CALL_TASK,
    MANDATORY_PURPOSES,
    OPT_OUT_CONFIRMATION,
    ContactProfile,
    Trigger,
)
from notifier.domain.strategy import NO_CALL_PURPOSES, PURPOSE_STAGE, StageStrategy
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
BUSINESS_TIMEZONE = "Asia/Shanghai"
"""The platform's business timezone (the ledger's default); ``bootstrap`` sets it from
``NOTIFIER_BUSINESS_TIMEZONE``."""


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
    """Decide and record one trigger; None when it was already decided (same trigger twice).
    When the stage's strategy asks for calls, a call task is decided too."""
    decision = await _start(uow, trigger, now)
    if decision is not None and trigger.context.get("kind") is None:
        stage = await _stage_of(uow, trigger.loan_id, trigger.purpose)
        strategy = await uow.strategies.current()
        profile = await uow.profiles.get(trigger.borrower_id)
        has_phone = profile is not None and any(c.channel is Channel.CALL for c in profile.channels)
        calls = strategy.for_stage(stage).call and trigger.purpose not in NO_CALL_PURPOSES
        if calls and has_phone:
            await _start(uow, call_trigger(trigger, f"call:{trigger.trigger_key}"), now)
    return decision


def call_trigger(trigger: Trigger, key: str) -> Trigger:
    return replace(trigger, trigger_key=key, context={**trigger.context, "kind": CALL_TASK})


async def _start(uow: NotifierUnitOfWork, trigger: Trigger, now: datetime) -> Decision | None:
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


async def _stage_of(uow: NotifierUnitOfWork, loan_id: str | None, purpose: str) -> str:
    known = await uow.stages.stage_of(loan_id or "") if loan_id else None
    return known or PURPOSE_STAGE.get(purpose, "reminder")


async def _request(
    uow: NotifierUnitOfWork, attempt: AttemptState, profile: ContactProfile, now: datetime
) -> tuple[ContactRequest, list[str], StageStrategy | None]:
    """The policy's question for one attempt: a call task (the call channel only, with the
    calls made), an opt-out confirmation (only the channel just opted out), or a message by
    the stage's strategy; with the reasons to record and the stage's strategy."""
    kind = attempt.context.get("kind")
    by_priority = profile.by_priority()
    opted_out = frozenset(c.channel for c in profile.channels if c.opted_out)
    base = ContactRequest(
        borrower_id=attempt.borrower_id,
        debt_id=attempt.loan_id or "",
        purpose=attempt.purpose,
        now=now,
        channels=(),
        addresses={},
        timezone=profile.timezone,
        jurisdiction=profile.jurisdiction,
        opted_out=opted_out,
        mandatory=attempt.mandatory,
    )
    if kind == CALL_TASK:
        calls = await uow.attempts.past_calls(attempt.borrower_id, now - timedelta(days=31))
        request = replace(
            base,
            channels=[Channel.CALL],
            addresses={c.channel: c.address_id for c in by_priority if c.channel is Channel.CALL},
            calls=calls,
            automated_call=attempt.context.get("automated") == "true",
            mandatory=False,
        )
        return request, ["call task"], None
    if kind == OPT_OUT_CONFIRMATION:
        channel = Channel(attempt.context["channel"])
        request = replace(
            base,
            channels=[channel],
            addresses={c.channel: c.address_id for c in by_priority if c.channel is channel},
            opted_out=opted_out - {channel},
        )
        return request, ["the one confirmation of an opt-out"], None
    strategy = await uow.strategies.current()
    stage = await _stage_of(uow, attempt.loan_id, attempt.purpose)
    stage_strategy = strategy.for_stage(stage)
    available = tuple(c.channel for c in by_priority)
    ordered = stage_strategy.message_channels(available)
    request = replace(
        base,
        channels=ordered[:1],
        addresses={c.channel: c.address_id for c in by_priority if c.channel is not Channel.CALL},
    )
    return request, [f"strategy v{strategy.version} stage {stage}"], stage_strategy


async def decide_and_record(
    uow: NotifierUnitOfWork, attempt: AttemptState, now: datetime
) -> Decision:
    profile = await uow.profiles.get(attempt.borrower_id)
    call = attempt.context.get("kind") == CALL_TASK
    notes: list[str] = []
    if profile is None:
        decision = Decision(
            Outcome.UNDELIVERABLE if attempt.mandatory else Outcome.SUPPRESSED,
            rule=Rule.NO_ADDRESS,
            reasons=("no contact profile",),
        )
    else:
        request, notes, stage_strategy = await _request(uow, attempt, profile, now)
        policy = await _policy_for(uow, attempt.loan_id or "")
        decision = policy.decide(request)
        if (
            decision.outcome is not Outcome.SUPPRESSED
            and stage_strategy is not None
            and not is_urgent(attempt.purpose, attempt.mandatory)
            and not stage_strategy.cadence_allows(
                await uow.attempts.last_message_at(attempt.loan_id or ""), now
            )
        ):
            decision = Decision(
                Outcome.SUPPRESSED,
                rule=Rule.STRATEGY_CADENCE,
                reasons=(f"a message within {stage_strategy.cadence_days} days",),
            )
    address_id = None
    if profile is not None and decision.channel is not None:
        address_id = next(c.address_id for c in profile.channels if c.channel is decision.channel)
    common = {
        "channel": decision.channel.value if decision.channel else None,
        "address_id": address_id,
        "rule": decision.rule.value if decision.rule else None,
        "reasons": [*notes, *decision.reasons],
        "template": attempt.purpose,
        "template_version": TEMPLATE_VERSION,
    }
    loan_id = attempt.loan_id or ""
    if decision.outcome is Outcome.SENT:
        # A call is a task for the call centre (listed by GET /call-tasks), never sent here.
        await uow.attempts.append(attempt, "task_open" if call else "queued", **common)
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


def prevention_facts(
    terms: ProductTerms | None, amount_minor: int, currency: str, due_date: str
) -> dict[str, str]:
    """A prevention reminder's facts, with the plain-language line on what a missed payment
    costs: the product's own penalty rate per day and the DPD at which credit reporting starts
    (from ``ledger.product.published``); "" when the product was never published here (the
    template then leaves the line out rather than state a rate that may be wrong)."""
    return {
        "amount": money(amount_minor, currency, "en"),
        "amount_minor": str(amount_minor),
        "currency": currency,
        "due_date": due_date,
        "penalty_rate": ""
        if terms is None
        else f"{(Decimal(terms.penalty_daily_rate) * 100).normalize():f}%",
        "credit_report_dpd": "" if terms is None else str(terms.credit_report_notice_dpd),
    }


def upcoming_reminder(event: CloudEvent, terms: ProductTerms | None) -> Trigger:
    soon = event.payload(ledger.RepaymentUpcoming)
    context = prevention_facts(
        terms, soon.amount_due_minor, soon.currency, soon.due_date.isoformat()
    )
    context["business_date"] = soon.business_date.isoformat()
    return _trigger(event, soon.loan_id, soon.borrower_id, "upcoming_reminder", context)


def due_reminder(event: CloudEvent, terms: ProductTerms | None) -> Trigger:
    due = event.payload(ledger.RepaymentDue)
    context = prevention_facts(terms, due.amount_due_minor, due.currency, due.due_date.isoformat())
    context["business_date"] = due.business_date.isoformat()
    return _trigger(event, due.loan_id, due.borrower_id, "due_reminder", context)


def overdue_notice(event: CloudEvent) -> Trigger:
    fact = event.payload(overdue.LoanBecameOverdue)
    context = {
        "amount": money(fact.overdue_minor, fact.currency, "en"),
        "amount_minor": str(fact.overdue_minor),
        "currency": fact.currency,
        "days": str(fact.days_past_due),
        "business_date": fact.business_date.isoformat(),
    }
    return _trigger(event, fact.loan_id, fact.borrower_id, "became_overdue", context)


async def on_repayment_upcoming(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    loan_id = event.payload(ledger.RepaymentUpcoming).loan_id
    terms = await uow.products.terms_of_loan(loan_id)
    await notify(uow, upcoming_reminder(event, terms), CLOCK.now())


async def on_repayment_due(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    terms = await uow.products.terms_of_loan(event.payload(ledger.RepaymentDue).loan_id)
    await notify(uow, due_reminder(event, terms), CLOCK.now())


async def on_business_day_closed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    """The platform's business date moves on: the simulated clock's date follows it."""
    closed = event.payload(ledger.BusinessDayClosed)
    await uow.clock.business_day_closed(closed.business_date, BUSINESS_TIMEZONE)


async def on_loan_became_overdue(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    await notify(uow, overdue_notice(event), CLOCK.now())


@rejecting()
async def on_stage_changed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.StageChanged)
    borrower = await uow.loans.borrower_of(fact.loan_id)
    if borrower is None:
        return  # a loan this service never saw disbursed: nobody to contact
    await uow.stages.set(fact.loan_id, fact.to_stage, fact.business_date)
    trigger = _trigger(
        event,
        fact.loan_id,
        borrower,
        "stage_changed",
        {"stage": str(fact.to_stage), "business_date": fact.business_date.isoformat()},
    )
    await notify(uow, trigger, CLOCK.now())


async def on_credit_report_notice_due(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.CreditReportNoticeDue)
    trigger = _trigger(
        event,
        fact.loan_id,
        fact.borrower_id,
        "credit_report_notice",
        {"days": str(fact.days_past_due), "business_date": fact.business_date.isoformat()},
    )
    await notify(uow, trigger, CLOCK.now())


async def on_loan_cured(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    fact = event.payload(overdue.LoanCured)
    borrower = await uow.loans.borrower_of(fact.loan_id)
    if borrower is None:
        return
    await uow.stages.set(fact.loan_id, "current", fact.business_date)
    await notify(
        uow,
        _trigger(
            event,
            fact.loan_id,
            borrower,
            "cured",
            {"business_date": fact.business_date.isoformat()},
        ),
        CLOCK.now(),
    )


# Restructure triggers (restructure.plans). Wired in ``entrypoints/consumers.py`` once the
# restructure service registers these types in the catalogue.


async def on_offer_made(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    offer = event.payload(restructure.OfferMade)
    borrower = await uow.loans.borrower_of(offer.loan_id)
    if borrower is None:
        return
    context = {"expires_on": offer.expires_on.isoformat(), "plan_type": offer.plan_type}
    trigger = _trigger(event, offer.loan_id, borrower, "restructure_offer", context)
    await notify(uow, trigger, CLOCK.now())


async def on_plan_broken(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    broken = event.payload(restructure.PlanBroken)
    borrower = await uow.loans.borrower_of(broken.loan_id)
    if borrower is None:
        return
    context = {
        "broken_on": broken.broken_on.isoformat(),
        "business_date": broken.broken_on.isoformat(),
    }
    trigger = _trigger(event, broken.loan_id, borrower, "plan_broken", context)
    await notify(uow, trigger, CLOCK.now())
