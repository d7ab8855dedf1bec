"""Facts from the ledger and overdue services become triggers; each trigger is decided by the
contact strategy and policy and recorded (append-only) in the consumer's transaction, through
the one set-based path (``batch_notify``: a single trigger is a batch of one). Nothing is sent
here: ``dispatch`` sends queued attempts after commit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from lendkit.consumer.handlers import rejecting
from lendkit.contracts import ledger, overdue, restructure
from lendkit.contracts.policies import NotificationPolicySpec, OverduePolicySpec
from lendkit.events import CloudEvent
from notifier.adapters.repository import ProductTerms
from notifier.domain.policy import Decision
from notifier.domain.profile import MANDATORY_PURPOSES, Trigger
from notifier.domain.templates import money
from notifier.service_layer.batch_notify import COLLECTION_REMINDER, notify_many
from notifier.service_layer.clock import CLOCK
from notifier.service_layer.unit_of_work import NotifierUnitOfWork

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
    """Decide and record one trigger (a batch of one: ``batch_notify.notify_many``); None when
    it was already decided (same trigger twice). When the stage's strategy asks for calls, a
    call task is decided too."""
    return (await notify_many(uow, [trigger], now)).get(trigger.trigger_key)


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


def _reminder(
    event: CloudEvent,
    fact: ledger.RepaymentUpcoming | ledger.RepaymentDue,
    purpose: str,
    terms: ProductTerms | None,
) -> Trigger:
    context = prevention_facts(
        terms, fact.amount_due_minor, fact.currency, fact.due_date.isoformat()
    )
    context["business_date"] = fact.business_date.isoformat()
    return _trigger(event, fact.loan_id, fact.borrower_id, purpose, context)


async def _remind_many(
    uow: NotifierUnitOfWork,
    events: list[CloudEvent],
    kind: type[ledger.RepaymentUpcoming] | type[ledger.RepaymentDue],
    purpose: str,
) -> None:
    """Prevention reminders for many instalments at once: the products' terms read in one
    statement, every trigger decided through the one set-based path."""
    facts = [e.payload(kind) for e in events]
    terms: dict[str, ProductTerms] = await uow.batch.terms_of_loans([f.loan_id for f in facts])
    triggers = [
        _reminder(e, f, purpose, terms.get(f.loan_id)) for e, f in zip(events, facts, strict=True)
    ]
    await notify_many(uow, triggers, CLOCK.now())


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
    await on_repayments_upcoming(uow, [event])


async def on_repayments_upcoming(uow: NotifierUnitOfWork, events: list[CloudEvent]) -> None:
    """Many ``ledger.repayment.upcoming`` at once (a close of business announces every
    instalment falling due in the products' reminder days): the consumer's batch mode."""
    await _remind_many(uow, events, ledger.RepaymentUpcoming, "upcoming_reminder")


async def on_repayment_due(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    await on_repayments_due(uow, [event])


async def on_business_day_closed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    """The platform's business date moves on: the simulated clock's date follows it, and the
    stages' cadences repeat their contact (``remind_on_cadence``)."""
    closed = event.payload(ledger.BusinessDayClosed)
    await uow.clock.business_day_closed(closed.business_date, BUSINESS_TIMEZONE)
    await remind_on_cadence(uow, closed.business_date)


async def remind_on_cadence(uow: NotifierUnitOfWork, day: date) -> None:
    """A stage whose strategy has a cadence (``cadence_days`` > 0; never ``current``) repeats
    its contact: each loan in it, not paused, whose stage began or whose last such reminder
    was that many days before ``day`` gets a ``collection_reminder`` for ``day`` (with the
    call task its stage asks for), decided like any trigger. Once per loan and day (the
    stage row records the day; several close-of-business markers of one day repeat
    nothing)."""
    strategy = await uow.strategies.current()
    cadences = {
        stage: s.cadence_days
        for stage, s in strategy.stages.items()
        if stage != "current" and s.cadence_days > 0
    }
    due = await uow.stages.due_for_reminder(cadences, day)
    triggers = [
        Trigger(
            trigger_key=f"collection_reminder:{d.loan_id}:{day.isoformat()}",
            loan_id=d.loan_id,
            borrower_id=d.borrower_id,
            purpose=COLLECTION_REMINDER,
            mandatory=False,
            context={
                "loan_id": d.loan_id,
                "help_url": HELP_URL,
                "stage": d.stage,
                "business_date": day.isoformat(),
            },
        )
        for d in due
    ]
    if triggers:
        await notify_many(uow, triggers, CLOCK.now())


async def on_delinquency_paused(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    """A paused loan (a plan accepted, a promise open) gets no cadence reminders."""
    await uow.stages.pause(event.payload(overdue.DelinquencyPaused).loan_id, True)


async def on_delinquency_resumed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    await uow.stages.pause(event.payload(overdue.DelinquencyResumed).loan_id, False)


async def on_loan_became_overdue(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    await on_loans_became_overdue(uow, [event])


async def on_repayments_due(uow: NotifierUnitOfWork, events: list[CloudEvent]) -> None:
    """Many ``ledger.repayment.due`` at once (the consumer's batch mode, ``Batchable``): the
    same path and effect as ``on_repayment_due`` one at a time."""
    await _remind_many(uow, events, ledger.RepaymentDue, "due_reminder")


async def on_loans_became_overdue(uow: NotifierUnitOfWork, events: list[CloudEvent]) -> None:
    """Many ``overdue.loan.became_overdue`` at once, as ``on_loan_became_overdue`` each."""
    await notify_many(uow, [overdue_notice(e) for e in events], CLOCK.now())


async def on_stage_changed(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    await on_stages_changed(uow, [event])


@rejecting()
async def on_stages_changed(uow: NotifierUnitOfWork, events: list[CloudEvent]) -> None:
    """Many ``overdue.loan.stage_changed`` at once (a close of business moves thousands of
    loans between stages), with the effect of one at a time: each loan's stage is stored,
    then its ``stage_changed`` trigger decided on it. A run is cut where a loan comes again,
    so every decision sees its own event's stage, as one at a time would. A loan this
    service never saw disbursed has nobody to contact and is left out."""
    facts = [(e, e.payload(overdue.StageChanged)) for e in events]
    borrowers = await uow.loans.borrowers_of({f.loan_id for _, f in facts})
    part: dict[str, tuple[CloudEvent, overdue.StageChanged]] = {}
    for event, fact in facts:
        if fact.loan_id not in borrowers:
            continue
        if fact.loan_id in part:
            await _stages_changed(uow, list(part.values()), borrowers)
            part = {}
        part[fact.loan_id] = (event, fact)
    if part:
        await _stages_changed(uow, list(part.values()), borrowers)


async def _stages_changed(
    uow: NotifierUnitOfWork,
    changes: list[tuple[CloudEvent, overdue.StageChanged]],
    borrowers: dict[str, str],
) -> None:
    """Stage changes of distinct loans: stored in one statement, then decided together."""
    await uow.stages.set_many([(f.loan_id, str(f.to_stage), f.business_date) for _, f in changes])
    triggers = [
        _trigger(
            event,
            fact.loan_id,
            borrowers[fact.loan_id],
            "stage_changed",
            {"stage": str(fact.to_stage), "business_date": fact.business_date.isoformat()},
        )
        for event, fact in changes
    ]
    await notify_many(uow, triggers, CLOCK.now())


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


async def on_promise_falling_due(uow: NotifierUnitOfWork, event: CloudEvent) -> None:
    """A promise to pay not kept yet falls due tomorrow: the promise-due reminder, with what
    is still owed on it."""
    due = event.payload(restructure.PromiseFallingDue)
    borrower = await uow.loans.borrower_of(due.loan_id)
    if borrower is None:
        return
    context = {
        "amount": money(due.remaining_minor, due.currency, "en"),
        "amount_minor": str(due.remaining_minor),
        "currency": due.currency,
        "promised_on": due.promised_on.isoformat(),
        "business_date": due.business_date.isoformat(),
    }
    trigger = _trigger(event, due.loan_id, borrower, "promise_due", context)
    await notify(uow, trigger, CLOCK.now())
