"""A plan's life after acceptance: activation when the ledger rewrote the schedule for it
(forbearance starts), completion when its instalments are paid, a break when one is
missed beyond the product's grace (``domain.monitoring``). Plans the ledger books without a
rewrite: a waiver completes once booked; a held settlement completes when the ledger says
it was paid in time, lapses when it says the deadline passed, and is closed as reversed
when the ledger voids it (its completing payment reversed)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts import ledger
from lendkit.contracts import restructure as contract
from lendkit.contracts.policies import RestructurePolicySpec
from lendkit.events import new_event
from lendkit.logging import get_logger
from restructure.adapters.records import AuditStep, LoanView, Plan
from restructure.domain.forbearance import new_forbearance
from restructure.domain.monitoring import PlanProgress, days_past_due, review_plan
from restructure.service_layer.messages import forbearance_changed
from restructure.service_layer.unit_of_work import RestructureUnitOfWork

log = get_logger(__name__)

LEDGER = "ledger"
SYSTEM = "restructure"
SETTLEMENT = "discounted_settlement"


async def policy_of(uow: RestructureUnitOfWork, product_code: str) -> RestructurePolicySpec:
    product = await uow.products.get(product_code)
    return RestructurePolicySpec() if product is None else product.policy


async def activate_plan(
    uow: RestructureUnitOfWork, before: LoanView, rewrite: ledger.ScheduleRewritten
) -> None:
    """The accepted plan ``rewrite`` was written for becomes active on its effective date;
    the loan is flagged forborne (with its DPD just before the rewrite). A discounted
    settlement's rewrite is the ledger closing the loan on it: the settlement completes on
    ``ledger.settlement.completed`` (``settlement_completed``), not here."""
    plan = await uow.plans.get(rewrite.plan_id, lock=True)
    if plan is None or plan.status != "accepted":
        log.info("schedule rewritten for no accepted plan of ours", plan_id=rewrite.plan_id)
        return
    if plan.plan_type == SETTLEMENT:
        return
    await _activate(uow, plan, before, rewrite.effective_date, rewrite.schedule_version)


async def plan_booked(
    uow: RestructureUnitOfWork, before: LoanView, booked: ledger.PlanBooked
) -> None:
    """The ledger booked a plan without rewriting the schedule. A held settlement stays
    accepted until it is paid (``settlement_completed``) or lapses (``settlement_lapsed``).
    A penalty / fee waiver is done once booked: it asks nothing more of the borrower (its
    instalments are the loan's own, already late ones, so monitoring them would break it at
    once), so it is activated (forbearance starts: a waiver is a concession) and completed
    on the booking date."""
    plan = await uow.plans.get(booked.plan_id, lock=True)
    if plan is None or plan.status != "accepted":
        log.info("plan booked for no accepted plan of ours", plan_id=booked.plan_id)
        return
    if booked.settlement_amount_minor is not None:
        detail: dict[str, object] = {
            "amount_minor": booked.settlement_amount_minor,
            "deadline": str(booked.settlement_deadline),
        }
        await uow.audit.record(
            AuditStep("plan", plan.plan_id, plan.loan_id, "held", LEDGER, detail)
        )
        return
    await _activate(uow, plan, before, booked.booked_on, booked.schedule_version)
    await _complete(uow, plan, booked.booked_on, LEDGER)


async def settlement_completed(
    uow: RestructureUnitOfWork, completed: ledger.SettlementCompleted
) -> None:
    """The settlement was paid by its deadline: the remainder was written off and the loan
    closed. The plan governed the loan for that instant: activated and completed on the
    completion date (no forbearance: the loan is closed)."""
    plan = await uow.plans.get(completed.plan_id, lock=True)
    if plan is None or plan.status != "accepted":
        log.info("settlement completed for no accepted plan of ours", plan_id=completed.plan_id)
        return
    on = completed.completed_on
    await _activate(uow, plan, None, on, completed.schedule_version)
    await _complete(uow, plan, on, LEDGER)


async def settlement_lapsed(uow: RestructureUnitOfWork, lapsed: ledger.SettlementLapsed) -> None:
    """The settlement's deadline passed without the amount: the offer lapsed, nothing was
    written off, the plan is closed as ``lapsed`` (never active)."""
    detail: dict[str, object] = {
        "paid_minor": lapsed.paid_minor,
        "amount_minor": lapsed.amount_minor,
    }
    await _close_settlement(uow, lapsed.plan_id, "accepted", "lapsed", lapsed.lapsed_on, detail)


async def settlement_reversed(
    uow: RestructureUnitOfWork, voided: ledger.SettlementReversed
) -> None:
    """A payment that completed the settlement was reversed and what stands no longer
    reaches the amount: the ledger undid the settlement (the loan is back on its terms
    before it, the write-off reinstated). The completed plan is closed as ``reversed`` on
    that date (audit step ``reversed`` with the payment, what stands and the amount)."""
    detail: dict[str, object] = {
        "payment_id": voided.payment_id,
        "paid_minor": voided.paid_minor,
        "amount_minor": voided.amount_minor,
    }
    await _close_settlement(
        uow, voided.plan_id, "completed", "reversed", voided.reversed_on, detail
    )


async def _close_settlement(
    uow: RestructureUnitOfWork,
    plan_id: str,
    was: str,
    status: str,
    on: date,
    detail: dict[str, object],
) -> None:
    """Close the settlement plan ``plan_id`` (when it is ``was``) as ``status`` on ``on``,
    with an audit step of that name: no event of ours (the ledger's is the fact), and the
    loan may ask for help again."""
    plan = await uow.plans.get(plan_id, lock=True)
    if plan is None or plan.status != was:
        log.info("settlement outcome for no such plan of ours", plan_id=plan_id, outcome=status)
        return
    await uow.plans.close(plan.plan_id, status, on)
    await uow.audit.record(AuditStep("plan", plan.plan_id, plan.loan_id, status, LEDGER, detail))


async def _activate(
    uow: RestructureUnitOfWork,
    plan: Plan,
    before: LoanView | None,
    on: date,
    schedule_version: int,
) -> None:
    """Activate ``plan`` on ``on``; with the loan as it was (``before``), forbearance starts."""
    await uow.plans.activate(plan.plan_id, on)
    await uow.audit.record(AuditStep("plan", plan.plan_id, plan.loan_id, "activated", LEDGER))
    await uow.emit(
        new_event(
            contract.PlanActivated(
                plan_id=plan.plan_id,
                loan_id=plan.loan_id,
                activated_on=on,
                schedule_version=schedule_version,
            ),
            source=uow.source,
        )
    )
    if before is None:
        return
    existing = await uow.forbearance.get(plan.loan_id)
    transition = new_forbearance(
        None if existing is None else existing.clock, on, days_past_due(before.instalments, on)
    )
    await uow.forbearance.save(plan.loan_id, transition.clock)
    await uow.emit(new_event(forbearance_changed(plan.loan_id, transition), source=uow.source))


async def _complete(uow: RestructureUnitOfWork, plan: Plan, on: date, actor: str) -> None:
    await uow.plans.close(plan.plan_id, "completed", on)
    await uow.audit.record(AuditStep("plan", plan.plan_id, plan.loan_id, "completed", actor))
    await uow.emit(
        new_event(
            contract.PlanCompleted(plan_id=plan.plan_id, loan_id=plan.loan_id, completed_on=on),
            source=uow.source,
        )
    )


async def review_open_plan(
    uow: RestructureUnitOfWork, loan_id: str, on: date, *, completion_only: bool = False
) -> PlanProgress | None:
    """Complete (or, unless ``completion_only``, break) the loan's active plan on ``on``
    (the business day being reviewed: an instalment is missed when its due date plus grace
    is before it)."""
    plan = await uow.plans.open_for(loan_id)
    if plan is None or plan.status != "active":
        return None
    loan = await uow.loans.get(loan_id)
    if loan is None:
        return None
    policy = await policy_of(uow, loan.product_code)
    review = review_plan(plan.instalments, loan.instalments, on, policy.plan_grace_days)
    if review.progress is PlanProgress.COMPLETED:
        await _complete(uow, plan, on, SYSTEM)
    elif review.progress is PlanProgress.BROKEN and not completion_only:
        assert review.missed_seq is not None
        await uow.plans.close(plan.plan_id, "broken", on, broken_seq=review.missed_seq)
        await uow.audit.record(
            AuditStep(
                "plan",
                plan.plan_id,
                loan_id,
                "broken",
                SYSTEM,
                {"missed_seq": review.missed_seq, "on_break": policy.on_break},
            )
        )
        await uow.emit(
            new_event(
                contract.PlanBroken(
                    plan_id=plan.plan_id,
                    loan_id=loan_id,
                    broken_on=on,
                    missed_seq=review.missed_seq,
                    on_break=policy.on_break,
                ),
                source=uow.source,
            )
        )
    return review.progress
