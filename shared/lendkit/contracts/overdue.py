"""Events the overdue service publishes on ``overdue.loans`` (key = loan id)."""

from __future__ import annotations

from datetime import date

from lendkit.contracts.money import Component, Currency, MinorUnits, NonNegativeMinor, Rate
from lendkit.contracts.policies import BucketName, StageName
from lendkit.contracts.topics import OVERDUE_LOANS
from lendkit.events.catalogue import EventPayload, event_type


@event_type(
    "overdue.loan.became_overdue.v1",
    topic=OVERDUE_LOANS,
    description="A loan is past its arrears grace.",
)
class LoanBecameOverdue(EventPayload):
    loan_id: str
    borrower_id: str
    business_date: date
    oldest_unpaid_due_date: date
    days_past_due: int
    bucket: BucketName
    overdue_minor: NonNegativeMinor
    currency: Currency


@event_type(
    "overdue.loan.bucket_changed.v1",
    topic=OVERDUE_LOANS,
    description="A loan moved between delinquency buckets.",
)
class BucketChanged(EventPayload):
    loan_id: str
    business_date: date
    from_bucket: BucketName
    to_bucket: BucketName
    days_past_due: int


@event_type(
    "overdue.penalty.assessed.v1",
    topic=OVERDUE_LOANS,
    description="Penalty interest accrued for one loan, instalment and business date (the ledger books it).",
)
class PenaltyAssessed(EventPayload):
    loan_id: str
    seq: int
    business_date: date
    component: Component = Component.PENALTY
    base_minor: NonNegativeMinor
    daily_rate: Rate
    amount_minor: NonNegativeMinor
    currency: Currency
    cap_applied: str | None = None


@event_type(
    "overdue.penalty.waived.v1",
    topic=OVERDUE_LOANS,
    description="Penalty was waived (audited); the ledger books the reversal.",
)
class PenaltyWaived(EventPayload):
    loan_id: str
    seq: int
    business_date: date
    amount_minor: NonNegativeMinor
    currency: Currency
    reason: str
    waived_by: str


@event_type(
    "overdue.loan.cured.v1",
    topic=OVERDUE_LOANS,
    description="Arrears cleared: the loan is current again.",
)
class LoanCured(EventPayload):
    loan_id: str
    business_date: date
    previous_bucket: BucketName
    previous_days_past_due: int


@event_type(
    "overdue.loan.stage_changed.v1",
    topic=OVERDUE_LOANS,
    description="A loan moved on the escalation ladder.",
)
class StageChanged(EventPayload):
    loan_id: str
    business_date: date
    from_stage: StageName
    to_stage: StageName
    days_past_due: int
    charge_off_candidate: bool = False


@event_type(
    "overdue.credit_report.notice_due.v1",
    topic=OVERDUE_LOANS,
    description="The borrower must be notified before negative credit information may be reported.",
)
class CreditReportNoticeDue(EventPayload):
    loan_id: str
    borrower_id: str
    business_date: date
    days_past_due: int


@event_type(
    "overdue.credit_report.reportable.v1",
    topic=OVERDUE_LOANS,
    description="Notice was delivered and the waiting period passed: negative information may be reported.",
)
class CreditReportReportable(EventPayload):
    loan_id: str
    business_date: date
    notice_delivered_on: date
    days_past_due: int
    overdue_minor: MinorUnits
    currency: Currency


@event_type(
    "overdue.loan.delinquency_paused.v1",
    topic=OVERDUE_LOANS,
    description="Delinquency tracking and penalty accrual are paused for a loan (ops, or a "
    "restructuring plan was accepted). Nothing accrues and no DPD-driven event is emitted while paused.",
)
class DelinquencyPaused(EventPayload):
    loan_id: str
    reason: str
    paused_by: str
    plan_id: str | None = None


@event_type(
    "overdue.loan.delinquency_resumed.v1",
    topic=OVERDUE_LOANS,
    description="Delinquency tracking and penalty accrual resumed for a loan; days while paused "
    "are never charged afterwards.",
)
class DelinquencyResumed(EventPayload):
    loan_id: str
    reason: str
    resumed_by: str
