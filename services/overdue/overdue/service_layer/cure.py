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

from sqlalchemy import insert

from lendkit.contracts import overdue as contract
from lendkit.db import UnitOfWork
from lendkit.events import new_event
from lendkit.events.catalogue import EventPayload
from lendkit.logging import get_logger
from overdue.adapters.loan_book import LoanRecord, arrears_on, policy_for, update_loan
from overdue.adapters.tables import bucket_history, stage_history
from overdue.domain.arrears import Arrears
from overdue.domain.credit_report import DelinquencyObserved, advance_credit_report_gate
from overdue.domain.cure import CureDecision, CureOutcome, decide_cure
from overdue.domain.escalation import Stage

log = get_logger(__name__)


async def review_cure(
    uow: UnitOfWork, loan: LoanRecord, before: Arrears, as_of: date
) -> CureDecision | None:
    """``None`` when the loan's product has no valid policy: such a loan is blocked, never
    reviewed by close of business, so it has no delinquency to cure (and no default policy
    is assumed to decide one)."""
    session = uow.session
    policy = await policy_for(session, loan.product_code)
    if policy is None:
        log.info("cure not reviewed: no product policy", loan_id=loan.loan_id)
        return None
    after = await arrears_on(session, loan.loan_id, as_of)
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
        await session.execute(
            insert(bucket_history).values(
                loan_id=loan.loan_id,
                business_date=as_of,
                from_bucket=loan.bucket,
                to_bucket=current_bucket,
                dpd=0,
            )
        )
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
        await session.execute(
            insert(stage_history).values(
                loan_id=loan.loan_id,
                business_date=as_of,
                from_stage=loan.stage,
                to_stage=Stage.CURRENT.value,
                dpd=0,
            )
        )
    gate, _ = advance_credit_report_gate(loan.gate, DelinquencyObserved(as_of, 0), policy)
    await update_loan(
        session,
        loan.loan_id,
        bucket=current_bucket,
        stage=Stage.CURRENT.value,
        in_arrears=False,
        charge_off_candidate=False,
        gate_status=gate.status.value,
        notice_due_on=gate.notice_due_on,
        notice_delivered_on=gate.notice_delivered_on,
        reportable_on=gate.reportable_on,
    )
    await uow.emit_all([new_event(e, source=uow.source) for e in events])
    return decision
