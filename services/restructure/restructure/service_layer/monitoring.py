"""A plan's life after acceptance: activation when the ledger rewrote the schedule for it
(forbearance starts), completion when its instalments are paid, a break when one is
missed beyond the product's grace (``domain.monitoring``)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts import ledger
from lendkit.contracts import restructure as contract
from lendkit.contracts.policies import RestructurePolicySpec
from lendkit.events import new_event
from lendkit.logging import get_logger
from restructure.adapters.records import AuditStep, LoanView
from restructure.domain.forbearance import new_forbearance
from restructure.domain.monitoring import PlanProgress, days_past_due, review_plan
from restructure.service_layer.messages import forbearance_changed
from restructure.service_layer.unit_of_work import RestructureUnitOfWork

log = get_logger(__name__)

LEDGER = "ledger"
SYSTEM = "restructure"


async def policy_of(uow: RestructureUnitOfWork, product_code: str) -> RestructurePolicySpec:
    product = await uow.products.get(product_code)
    return RestructurePolicySpec() if product is None else product.policy


async def activate_plan(
    uow: RestructureUnitOfWork, before: LoanView, rewrite: ledger.ScheduleRewritten
) -> None:
    """The accepted plan ``rewrite`` was written for becomes active on its effective date;
    the loan is flagged forborne (with its DPD just before the rewrite)."""
    plan = await uow.plans.get(rewrite.plan_id, lock=True)
    if plan is None or plan.status != "accepted":
        log.info("schedule rewritten for no accepted plan of ours", plan_id=rewrite.plan_id)
        return
    on = rewrite.effective_date
    await uow.plans.activate(plan.plan_id, on)
    await uow.audit.record(AuditStep("plan", plan.plan_id, plan.loan_id, "activated", LEDGER))
    await uow.emit(
        new_event(
            contract.PlanActivated(
                plan_id=plan.plan_id,
                loan_id=plan.loan_id,
                activated_on=on,
                schedule_version=rewrite.schedule_version,
            ),
            source=uow.source,
        )
    )
    existing = await uow.forbearance.get(plan.loan_id)
    transition = new_forbearance(
        None if existing is None else existing.clock, on, days_past_due(before.instalments, on)
    )
    await uow.forbearance.save(plan.loan_id, transition.clock)
    await uow.emit(new_event(forbearance_changed(plan.loan_id, transition), source=uow.source))


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
        await uow.plans.close(plan.plan_id, "completed", on)
        await uow.audit.record(AuditStep("plan", plan.plan_id, loan_id, "completed", SYSTEM))
        await uow.emit(
            new_event(
                contract.PlanCompleted(plan_id=plan.plan_id, loan_id=loan_id, completed_on=on),
                source=uow.source,
            )
        )
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
