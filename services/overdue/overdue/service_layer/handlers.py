"""One handler per consumed fact: ``async def on_<fact>(uow, event) -> None``.

The idempotent consumer calls each in the transaction that records the event as
processed, so a redelivered event has no second effect. Balances are replaced from the
ledger's events (they carry every open instalment after the change); cure is reviewed
after payments, charges and schedule rewrites; close of business runs from the markers
(see ``business_day``). A ledger event whose ``loan_version`` is older than the balances
already applied (a replayed dead letter, say) changes no balance: state never rolls back.

A handler's refusals (a loan whose disbursement was never seen, a product without a valid
policy, a day this service cannot close: ``lendkit.errors`` refusals; an invalid published
policy: ``InvalidPolicy``) become dead letters with the reason through ``@rejecting``.
"""

from __future__ import annotations

from datetime import date

from lendkit.consumer import rejecting
from lendkit.contracts import ledger, notifier, restructure
from lendkit.contracts.money import Component, InstalmentBalance
from lendkit.errors import NotFound
from lendkit.events import CloudEvent
from lendkit.logging import get_logger
from overdue.adapters.records import NewLoan, TrackedLoan
from overdue.domain.arrears import Arrears
from overdue.domain.credit_report import NoticeDelivered, advance_credit_report_gate
from overdue.domain.invalid_policy import InvalidPolicy
from overdue.domain.policy import OverduePolicy
from overdue.service_layer.back_dated import apply_back_dated_payment
from overdue.service_layer.business_day import close_days_held_for_products, record_day_marker
from overdue.service_layer.cure import review_cure
from overdue.service_layer.pause import pause_loan, resume_loan
from overdue.service_layer.penalty_waivers import PolicyMissing, waiver_booked
from overdue.service_layer.unit_of_work import OverdueUnitOfWork

log = get_logger(__name__)

CREDIT_REPORT_NOTICE = "credit_report_notice"
RESTRUCTURE_ACTOR = "restructure"


class UnknownLoan(NotFound):
    """A ledger fact about a loan whose disbursement was never seen."""


def _unknown(loan_id: str) -> UnknownLoan:
    return UnknownLoan(f"loan {loan_id} is not known (no disbursement seen)")


async def _known_loan(uow: OverdueUnitOfWork, loan_id: str) -> TrackedLoan:
    loan = await uow.loans.get(loan_id, lock=True)
    if loan is None:
        raise _unknown(loan_id)
    return loan


@rejecting(InvalidPolicy)
async def on_product_published(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """Keep the product's overdue policy, parsed with the published schema and stored in
    full (defaults written out). An invalid one is dead-lettered, recorded as refused and
    never replaced by a default: the product's loans stay blocked (close of business reviews
    them from the first day after a valid policy arrived). Either way a close that waited
    for the product (``business_day``) runs now."""
    product = event.payload(ledger.ProductPublished)
    # Committed on its own before the event is recorded processed: a close of business that
    # waited for this product runs now, and must see it (a redelivery saves it again).
    refused: InvalidPolicy | None = None
    async with uow.sibling() as own:
        try:
            policy = OverduePolicy.from_mapping(product.overdue_policy)
        except InvalidPolicy as exc:
            refused = exc
            await own.products.record_refusal(product.code, str(exc))
        else:
            await own.products.save(product.code, product.currency, policy.to_mapping())
        await own.commit()
    await close_days_held_for_products(uow)
    if refused is not None:
        raise refused


async def on_loan_disbursed(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    loan = event.payload(ledger.LoanDisbursed)
    added = await uow.loans.add(
        NewLoan(
            loan_id=loan.loan_id,
            borrower_id=loan.borrower_id,
            product_code=loan.product_code,
            currency=loan.currency,
            principal_minor=loan.principal_minor,
            disbursed_on=loan.disbursed_on,
            timezone=loan.timezone,
            ledger_version=loan.loan_version,
        )
    )
    if not added:
        return
    await uow.loans.set_schedule(loan.loan_id, loan.instalments)
    await uow.loans.refresh_oldest_unpaid_due_date(loan.loan_id)


@rejecting()
async def on_repayment_due(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    due = event.payload(ledger.RepaymentDue)
    await _known_loan(uow, due.loan_id)
    await uow.loans.replace_balances(due.loan_id, [due.balance], complete=False)


@rejecting()
async def on_payment_allocated(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """New balances and cure; a new payment valued on or before a closed day unwinds the
    penalty days it would have prevented and revises those days' history (``back_dated``)."""
    allocated = event.payload(ledger.PaymentAllocated)
    loan = await _known_loan(uow, allocated.loan_id)
    if _stale(loan, allocated.loan_version, event):
        return
    await apply_back_dated_payment(uow, loan, allocated)
    await _replace_and_review_cure(
        uow, loan, event, allocated.balances, allocated.value_date, allocated.loan_version
    )


@rejecting()
async def on_payment_reversed(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """What the payment paid is owed again; the next close of business sees the arrears."""
    reversed_ = event.payload(ledger.PaymentReversed)
    loan = await _known_loan(uow, reversed_.loan_id)
    if _stale(loan, reversed_.loan_version, event):
        return
    await uow.loans.replace_balances(
        loan.loan_id, reversed_.balances, loan_version=reversed_.loan_version
    )


async def on_charge_booked(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    await on_charges_booked(uow, [event])


@rejecting()
async def on_charges_booked(uow: OverdueUnitOfWork, events: list[CloudEvent]) -> None:
    """Many ``ledger.charge.booked`` at once (a close of business books a penalty for every
    overdue loan; the consumer's batch mode), with the effect of one at a time: fees count
    towards the cost ceiling, penalties are ours (assessed already), a waiver records what
    the ledger booked for it; then the balances are replaced and cure reviewed. The loans are
    locked and their arrears before the charges read in one statement each. A run is cut
    where a loan comes again, so each charge reads what the one before it wrote."""
    part: dict[str, tuple[CloudEvent, ledger.ChargeBooked]] = {}
    for event in events:
        charge = event.payload(ledger.ChargeBooked)
        if charge.loan_id in part:
            await _charges_booked(uow, list(part.values()))
            part = {}
        part[charge.loan_id] = (event, charge)
    if part:
        await _charges_booked(uow, list(part.values()))


async def _charges_booked(
    uow: OverdueUnitOfWork, charges: list[tuple[CloudEvent, ledger.ChargeBooked]]
) -> None:
    """Charges of distinct loans."""
    loans = await uow.loans.lock_many(c.loan_id for _, c in charges)
    for _, charge in charges:
        if charge.loan_id not in loans:
            raise _unknown(charge.loan_id)
    fees_or_waivers = {c.loan_id for _, c in charges if _changes_loan(c)}
    before = await uow.loans.arrears_of_many(
        {c.loan_id: c.business_date for _, c in charges if c.loan_id not in fees_or_waivers}
    )
    for event, charge in charges:
        loan = loans[charge.loan_id]
        if charge.component is Component.FEE:
            await uow.loans.set_fees_charged(
                loan.loan_id, max(0, loan.fees_charged_minor + charge.amount_minor)
            )
        elif charge.amount_minor < 0:
            await waiver_booked(uow, loan, charge.source_event_id, -charge.amount_minor)
        await _replace_and_review_cure(
            uow,
            loan,
            event,
            charge.balances,
            charge.business_date,
            charge.loan_version,
            before=before.get(loan.loan_id),
        )


def _changes_loan(charge: ledger.ChargeBooked) -> bool:
    """A fee or a waiver writes before the arrears are read (one at a time, as ever)."""
    return charge.component is Component.FEE or charge.amount_minor < 0


@rejecting()
async def on_schedule_rewritten(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """The new schedule governs delinquency from now on: replace it, review cure (a re-aged
    loan may have nothing past due), and end a pause that the plan's acceptance started."""
    rewrite = event.payload(ledger.ScheduleRewritten)
    loan = await _known_loan(uow, rewrite.loan_id)
    if _stale(loan, rewrite.loan_version, event):
        return
    before = await uow.loans.arrears_on(loan.loan_id, rewrite.effective_date)
    await uow.loans.set_schedule(
        loan.loan_id, rewrite.instalments, effective_date=rewrite.effective_date
    )
    await uow.loans.replace_balances(
        loan.loan_id, rewrite.balances, loan_version=rewrite.loan_version
    )
    await review_cure(uow, loan, before, rewrite.effective_date)
    await _plan_outcome(uow, loan, rewrite.plan_id, "schedule rewritten")


@rejecting()
async def on_business_day_closed(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    await record_day_marker(uow, event.payload(ledger.BusinessDayClosed))


@rejecting()
async def on_plan_accepted(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    plan = event.payload(restructure.PlanAccepted)
    await _pause_for_plan(uow, plan.loan_id, plan.plan_id)


@rejecting()
async def on_plan_accepted_v2(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """The plan with its exact schedule: delinquency pauses as for v1 until the ledger's
    rewritten schedule arrives."""
    plan = event.payload(restructure.PlanAcceptedV2)
    if plan.plan_type == "promise_to_pay":
        return  # the ledger books nothing for a promise: no rewrite would end the pause
    await _pause_for_plan(uow, plan.loan_id, plan.plan_id)


@rejecting()
async def on_plan_booked(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """A plan the ledger booked without rewriting the schedule (a penalty / fee waiver)
    ends the pause its acceptance started; a rewrite ends it with the new schedule, a held
    settlement when completed (schedule rewritten) or lapsed."""
    booked = event.payload(ledger.PlanBooked)
    if booked.rewrote_schedule or booked.settlement_amount_minor is not None:
        return
    await _resume_for_plan(uow, booked.loan_id, booked.plan_id, "booked by the ledger")


@rejecting()
async def on_settlement_lapsed(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """A settlement not paid by its deadline: collections resume on the loan's terms."""
    lapsed = event.payload(ledger.SettlementLapsed)
    await _resume_for_plan(uow, lapsed.loan_id, lapsed.plan_id, "settlement lapsed")


@rejecting()
async def on_plan_cancelled(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """A plan cancelled before it was active: the pause its acceptance started ends
    (collections resume on the schedule the ledger has; the ledger undoes a rewrite it
    booked with ``ledger.schedule.rewritten``)."""
    cancelled = event.payload(restructure.PlanCancelled)
    why = f"cancelled on {cancelled.cancelled_on}"
    await _resume_for_plan(uow, cancelled.loan_id, cancelled.plan_id, why, actor=RESTRUCTURE_ACTOR)


@rejecting()
async def on_plan_broken(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """A broken plan: collections resume. A pause the plan's acceptance started ends (the
    ledger's outcome has normally ended it already); escalation goes on from the schedule
    the ledger has, the plan's new terms, with DPD from the oldest unpaid instalment (the
    missed plan instalment). A pause operations set is theirs to end. ``on_break:
    restore_original_terms`` changes nothing here: the ledger restores the schedule and
    this service follows the schedule the ledger publishes."""
    broken = event.payload(restructure.PlanBroken)
    why = f"broken on {broken.broken_on} (instalment {broken.missed_seq} missed)"
    await _resume_for_plan(uow, broken.loan_id, broken.plan_id, why, actor=RESTRUCTURE_ACTOR)


async def _resume_for_plan(
    uow: OverdueUnitOfWork, loan_id: str, plan_id: str, why: str, *, actor: str = "ledger"
) -> None:
    await _plan_outcome(uow, await _known_loan(uow, loan_id), plan_id, why, actor=actor)


async def _plan_outcome(
    uow: OverdueUnitOfWork,
    loan: TrackedLoan,
    plan_id: str,
    why: str,
    *,
    actor: str = "ledger",
) -> None:
    """The plan's outcome ends the pause its acceptance started, and is remembered: the
    acceptance comes on ``restructure.plans``, the outcome on ``ledger.loans`` (or later on
    ``restructure.plans``), and Kafka orders nothing across topics. An acceptance read after
    its outcome paused the loan for good (until the plan broke, or for ever), and close of
    business skipped it."""
    if loan.plan_outcome_seen != plan_id:
        await uow.loans.record_plan_outcome(loan.loan_id, plan_id)
    if loan.paused and loan.pause_reason == _plan_reason(plan_id):
        await resume_loan(uow, loan, reason=f"plan {plan_id} {why}", actor=actor)


async def _pause_for_plan(uow: OverdueUnitOfWork, loan_id: str, plan_id: str) -> None:
    loan = await _known_loan(uow, loan_id)
    if loan.plan_outcome_seen == plan_id:
        log.info("plan acceptance read after its outcome: no pause", loan_id=loan_id)
        return
    await pause_loan(
        uow, loan, reason=_plan_reason(plan_id), actor=RESTRUCTURE_ACTOR, plan_id=plan_id
    )


@rejecting()
async def on_message_delivered(uow: OverdueUnitOfWork, event: CloudEvent) -> None:
    """Only a delivered credit-report notice opens the gate (after the waiting period)."""
    message = event.payload(notifier.MessageDelivered)
    if message.purpose != CREDIT_REPORT_NOTICE:
        return
    loan = await _known_loan(uow, message.loan_id)
    policy = await uow.products.policy_for(loan.product_code)
    if policy is None:  # replay the dead letter once the product's policy has arrived
        raise PolicyMissing(f"product {loan.product_code} of loan {loan.loan_id} has no policy")
    gate, facts = advance_credit_report_gate(
        loan.gate, NoticeDelivered(message.delivered_on), policy
    )
    if not facts:
        log.info("notice receipt ignored by the gate", loan_id=loan.loan_id)
        return
    await uow.loans.record_notice_delivered(loan.loan_id, gate)


def _stale(loan: TrackedLoan, loan_version: int | None, event: CloudEvent) -> bool:
    if not loan.is_stale(loan_version):
        return False
    log.info(
        "older ledger event ignored",
        loan_id=loan.loan_id,
        event_id=event.id,
        event_type=event.type,
        loan_version=loan_version,
        applied_version=loan.ledger_version,
    )
    return True


async def _replace_and_review_cure(
    uow: OverdueUnitOfWork,
    loan: TrackedLoan,
    event: CloudEvent,
    balances: list[InstalmentBalance],
    as_of: date,
    loan_version: int | None,
    *,
    before: Arrears | None = None,
) -> None:
    """``before``: the arrears on ``as_of`` before the change, when the caller read them."""
    if _stale(loan, loan_version, event):
        return
    if before is None:
        before = await uow.loans.arrears_on(loan.loan_id, as_of)
    await uow.loans.replace_balances(loan.loan_id, balances, loan_version=loan_version)
    # the balances name every open instalment: the arrears after them, without a read
    await review_cure(uow, loan, before, as_of, Arrears.of_open_instalments(balances, as_of))


def _plan_reason(plan_id: str) -> str:
    return f"restructure plan {plan_id} accepted"
