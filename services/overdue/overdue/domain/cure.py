"""Did a change in arrears (usually a payment) cure the loan?

- CURED: the loan had something past due and now has nothing past due (DPD 0: no
  instalment whose due date has passed is unpaid). Unpaid penalty alone does not
  block a cure; the ledger's allocation settles penalty before the instalment.
- PARTIAL: still past due, but less is owed or the oldest unpaid instalment is newer.
- NONE: nothing was past due before, or nothing improved.

Both DPDs are measured on ``as_of``, so the previous bucket is the one the loan was in
on that day just before the change; that is the bucket a cured event carries.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from overdue.domain.arrears import Arrears
from overdue.domain.delinquency import Bucket, days_past_due, is_in_arrears
from overdue.domain.policy import OverduePolicy


class CureOutcome(StrEnum):
    CURED = "cured"
    PARTIAL = "partial"
    NONE = "none"


@dataclass(frozen=True)
class CureDecision:
    outcome: CureOutcome
    previous_dpd: int
    current_dpd: int
    previous_bucket: Bucket
    was_in_arrears: bool
    """True when the loan was overdue (beyond arrears grace) before the change; a handler
    announces ``cured`` only for loans that had been announced overdue."""
    reduced_by_minor: int
    """Drop in total past-due amount (0 when it did not fall)."""


def decide_cure(
    previous: Arrears, current: Arrears, as_of: date, policy: OverduePolicy
) -> CureDecision:
    previous_dpd = days_past_due(previous.oldest_unpaid_due_date, as_of)
    current_dpd = days_past_due(current.oldest_unpaid_due_date, as_of)
    reduced_by = max(0, previous.overdue.total_minor - current.overdue.total_minor)
    if previous_dpd == 0:
        outcome = CureOutcome.NONE
    elif current_dpd == 0:
        outcome = CureOutcome.CURED
    elif reduced_by > 0 or current_dpd < previous_dpd:
        outcome = CureOutcome.PARTIAL
    else:
        outcome = CureOutcome.NONE
    return CureDecision(
        outcome=outcome,
        previous_dpd=previous_dpd,
        current_dpd=current_dpd,
        previous_bucket=policy.buckets.bucket_for(previous_dpd),
        was_in_arrears=is_in_arrears(previous_dpd, policy),
        reduced_by_minor=reduced_by,
    )
