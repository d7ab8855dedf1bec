"""Cure after a change in arrears (a payment, a charge, a rewritten schedule).

The read model is updated first; ``decide_cure`` (domain) compares the arrears before
and after on the event's date. When nothing is past due any more the loan returns to the
current bucket and stage and the credit-report gate resets; a loan that had been
announced overdue gets ``overdue.loan.cured.v1`` carrying the bucket it left. A partial
payment only lowers the arrears (the next close of business charges penalty on the
smaller base); no event is emitted for it.
"""

from __future__ import annotations

from datetime import date

from lendkit.contracts import overdue as contract
from lendkit.events import new_event
from lendkit.events.catalogue import EventPayload
from lendkit.logging import get_logger
from overdue.adapters.records import TrackedLoan
from overdue.domain.arrears import Arrears
from overdue.domain.credit_report import DelinquencyObserved, advance_credit_report_gate
from overdue.domain.cure import CureDecision, CureOutcome, decide_cure
from overdue.domain.escalation import Stage
from overdue.service_layer.unit_of_work import OverdueUnitOfWork

log = get_logger(__name__)


async def review_cure(
    uow: OverdueUnitOfWork,
    loan: TrackedLoan,
    before: Arrears,
    as_of: date,
    after: Arrears | None = None,
) -> CureDecision | None:
    """``None`` when the loan's product has no valid policy: such a loan is blocked, never
    reviewed by close of business, so it has no delinquency to cure (and no default policy
    is assumed to decide one). ``after``: the arrears now, when the caller knows them (read
    from the read model otherwise)."""
    policy = await uow.products.policy_for(loan.product_code)
    if policy is None:
        log.info("cure not reviewed: no product policy", loan_id=loan.loan_id)
        return None
    if after is None:
        after = await uow.loans.arrears_on(loan.loan_id, as_of)
    decision = decide_cure(before, after, as_of, policy)
    if decision.outcome is not CureOutcome.CURED:
        return decision

    current_bucket = policy.buckets.current.name
    events: list[EventPayload] = []
    if loan.in_arrears:
        events.append(
            contract.LoanCured(
                loan_id=loan.loan_id,
                business_date=as_of,
                previous_bucket=decision.previous_bucket.name,
                previous_days_past_due=decision.previous_dpd,
            )
        )
    if loan.bucket != current_bucket:
        events.append(
            contract.BucketChanged(
                loan_id=loan.loan_id,
                business_date=as_of,
                from_bucket=loan.bucket,
                to_bucket=current_bucket,
                days_past_due=0,
            )
        )
        await uow.history.add_bucket_change(loan.loan_id, as_of, loan.bucket, current_bucket, dpd=0)
    if loan.stage != Stage.CURRENT.value:
        events.append(
            contract.StageChanged(
                loan_id=loan.loan_id,
                business_date=as_of,
                from_stage=loan.stage,
                to_stage=Stage.CURRENT.value,
                days_past_due=0,
            )
        )
        await uow.history.add_stage_change(
            loan.loan_id, as_of, loan.stage, Stage.CURRENT.value, dpd=0
        )
    gate, _ = advance_credit_report_gate(loan.gate, DelinquencyObserved(as_of, 0), policy)
    await uow.loans.mark_cured(
        loan.loan_id, bucket=current_bucket, stage=Stage.CURRENT.value, gate=gate
    )
    await uow.emit_all([new_event(e, source=uow.source) for e in events])
    return decision
