"""One loan at close of business on one date: the domain rules composed, no I/O.

Close of business reads the due and overdue loans, calls ``review_loan_day`` for each and
writes the outcomes back in bulk. Every rule lives in ``overdue.domain``; this module only
decides which facts become which published events.
"""

from __future__ import annotations

from datetime import date

from lendkit.contracts import overdue as contract
from lendkit.events.catalogue import EventPayload
from overdue.adapters.records import LoanDayInput, LoanDayOutcome, TrackedLoan
from overdue.domain.credit_report import (
    BecameReportable,
    DelinquencyObserved,
    advance_credit_report_gate,
)
from overdue.domain.credit_report import CreditReportNoticeDue as NoticeDueFact
from overdue.domain.delinquency import Bucket, Delinquency, bucket_transition, delinquency_on
from overdue.domain.escalation import Escalation, Stage, escalation_for, stage_transition
from overdue.domain.penalty import DayPosition, accrue_penalty_for_day
from overdue.domain.policy import OverduePolicy


def previous_bucket(loan: TrackedLoan, policy: OverduePolicy) -> Bucket:
    """The bucket the loan was last put in (current if the product's buckets were renamed)."""
    try:
        return policy.buckets.named(loan.bucket)
    except KeyError:
        return policy.buckets.current


class DayRules:
    """The policy's pure per-date answers for one business date, remembered: close of
    business asks the same few questions (DPD of a due date, stage of a DPD, a bucket by
    name) for thousands of loans. Each answer is exactly the domain function's."""

    def __init__(self, on: date, policy: OverduePolicy) -> None:
        self.on = on
        self.policy = policy
        self._delinquency: dict[date | None, Delinquency] = {}
        self._escalation: dict[int, Escalation] = {}
        self._previous: dict[str, Bucket] = {}
        self._stages: dict[str, Stage] = {}

    def delinquency(self, oldest_unpaid_due_date: date | None) -> Delinquency:
        found = self._delinquency.get(oldest_unpaid_due_date)
        if found is None:
            found = self._delinquency[oldest_unpaid_due_date] = delinquency_on(
                oldest_unpaid_due_date, self.on, self.policy
            )
        return found

    def escalation(self, dpd: int) -> Escalation:
        found = self._escalation.get(dpd)
        if found is None:
            found = self._escalation[dpd] = escalation_for(dpd, self.policy.escalation)
        return found

    def previous_bucket(self, loan: TrackedLoan) -> Bucket:
        found = self._previous.get(loan.bucket)
        if found is None:
            found = self._previous[loan.bucket] = previous_bucket(loan, self.policy)
        return found

    def stage(self, name: str) -> Stage:
        found = self._stages.get(name)
        if found is None:
            found = self._stages[name] = Stage(name)
        return found


def review_loan_day(
    day: LoanDayInput, on: date, policy: OverduePolicy, rules: DayRules | None = None
) -> LoanDayOutcome:
    """``rules``: a :class:`DayRules` for ``on`` and ``policy`` to share between loans."""
    if rules is None or rules.on != on or rules.policy is not policy:
        rules = DayRules(on, policy)
    loan = day.loan
    delinquency = rules.delinquency(loan.oldest_unpaid_due_date)
    dpd = delinquency.dpd
    events: list[EventPayload] = []

    if delinquency.in_arrears and not loan.in_arrears:
        assert loan.oldest_unpaid_due_date is not None
        events.append(
            contract.LoanBecameOverdue(
                loan_id=loan.loan_id,
                borrower_id=loan.borrower_id,
                business_date=on,
                oldest_unpaid_due_date=loan.oldest_unpaid_due_date,
                days_past_due=dpd,
                bucket=delinquency.bucket.name,
                overdue_minor=day.overdue.total_minor,
                currency=loan.currency,
            )
        )

    moved = bucket_transition(rules.previous_bucket(loan), delinquency.bucket)
    if moved is not None:
        events.append(
            contract.BucketChanged(
                loan_id=loan.loan_id,
                business_date=on,
                from_bucket=moved.from_bucket.name,
                to_bucket=moved.to_bucket.name,
                days_past_due=dpd,
            )
        )

    escalation = rules.escalation(dpd)
    escalated = stage_transition(rules.stage(loan.stage), escalation.stage)
    if escalated is not None:
        events.append(
            contract.StageChanged(
                loan_id=loan.loan_id,
                business_date=on,
                from_stage=escalated.from_stage.value,
                to_stage=escalated.to_stage.value,
                days_past_due=dpd,
                charge_off_candidate=escalation.charge_off_candidate,
            )
        )

    penalty_day, penalty = accrue_penalty_for_day(
        loan.penalty,
        loan.terms,
        DayPosition(
            on=on,
            oldest_unpaid_due_date=loan.oldest_unpaid_due_date,
            overdue=day.overdue,
            interest_charged_to_date_minor=day.interest_charged_minor,
            fees_charged_to_date_minor=loan.fees_charged_minor,
        ),
        policy,
    )
    if penalty_day is not None and penalty_day.booked_minor > 0:
        assert day.oldest_unpaid_seq is not None
        events.append(
            contract.PenaltyAssessed(
                loan_id=loan.loan_id,
                seq=day.oldest_unpaid_seq,
                business_date=on,
                base_minor=penalty_day.base_minor,
                daily_rate=str(penalty_day.rate),
                amount_minor=penalty_day.booked_minor,
                currency=loan.currency,
                cap_applied=None
                if penalty_day.cap_applied is None
                else penalty_day.cap_applied.value,
            )
        )

    gate, facts = advance_credit_report_gate(loan.gate, DelinquencyObserved(on, dpd), policy)
    for fact in facts:
        if isinstance(fact, NoticeDueFact):
            events.append(
                contract.CreditReportNoticeDue(
                    loan_id=loan.loan_id,
                    borrower_id=loan.borrower_id,
                    business_date=on,
                    days_past_due=dpd,
                )
            )
        elif isinstance(fact, BecameReportable):
            events.append(
                contract.CreditReportReportable(
                    loan_id=loan.loan_id,
                    business_date=on,
                    notice_delivered_on=fact.notice_delivered_on,
                    days_past_due=dpd,
                    overdue_minor=day.overdue.total_minor,
                    currency=loan.currency,
                )
            )

    return LoanDayOutcome(
        loan_id=loan.loan_id,
        dpd=dpd,
        bucket=delinquency.bucket.name,
        stage=escalation.stage,
        in_arrears=delinquency.in_arrears,
        charge_off_candidate=escalation.charge_off_candidate,
        penalty=penalty,
        gate=gate,
        penalty_day=penalty_day,
        penalty_seq=day.oldest_unpaid_seq,
        bucket_change=None if moved is None else (moved.from_bucket.name, moved.to_bucket.name),
        stage_change=None
        if escalated is None
        else (escalated.from_stage.value, escalated.to_stage.value),
        events=events,
    )
