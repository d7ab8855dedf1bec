"""Eligibility of a loan for each plan type: every failing reason, never just the first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from restructure.domain.plans import PlanType


class Reason(StrEnum):
    """Why a loan may not have a plan type (stable codes, shown to borrowers translated)."""

    TYPE_NOT_OFFERED = "type_not_offered"
    DPD_BELOW_MINIMUM = "dpd_below_minimum"
    DPD_ABOVE_MAXIMUM = "dpd_above_maximum"
    TOO_MANY_RESTRUCTURES = "too_many_restructures"
    CHARGED_OFF = "charged_off"
    ACTIVE_PLAN = "active_plan"
    PENDING_REQUEST = "pending_request"
    TOO_FEW_PAYMENTS = "too_few_payments"
    HARDSHIP_REASON_REQUIRED = "hardship_reason_required"
    DISCOUNT_TOO_LARGE = "discount_too_large"
    NO_REMAINING_INSTALMENTS = "no_remaining_instalments"


@dataclass(frozen=True)
class EligibilityRules:
    """The product's rules (from ``RestructurePolicySpec``)."""

    min_dpd: int = 1
    max_dpd: int = 180
    max_restructures_in_12_months: int = 1
    allowed: frozenset[PlanType] = frozenset(
        {PlanType.PAYMENT_HOLIDAY, PlanType.TERM_EXTENSION, PlanType.PROMISE_TO_PAY}
    )
    min_payments_made: int = 0
    hardship_reason_required_for: frozenset[PlanType] = frozenset()
    max_discount_bps: int = 0


@dataclass(frozen=True)
class LoanFacts:
    """What the service knows about the loan when the request arrives."""

    as_of: date
    dpd: int
    charged_off: bool = False
    active_plan: bool = False
    pending_request: bool = False
    payments_made: int = 0
    remaining_instalments: int = 1
    restructure_dates: Sequence[date] = field(default_factory=tuple)


def restructures_in_last_12_months(dates: Iterable[date], as_of: date) -> int:
    """Plans activated in the 365 days up to and including ``as_of``."""
    start = as_of - timedelta(days=365)
    return sum(1 for d in dates if start < d <= as_of)


def ineligibility(
    plan_type: PlanType,
    facts: LoanFacts,
    rules: EligibilityRules,
    *,
    hardship_reason: str | None = None,
    discount: int = 0,
    owed: int = 0,
) -> list[Reason]:
    """Every reason ``plan_type`` is refused for the loan (empty: eligible)."""
    reasons: list[Reason] = []
    if plan_type not in rules.allowed:
        reasons.append(Reason.TYPE_NOT_OFFERED)
    if facts.dpd < rules.min_dpd and plan_type is not PlanType.PROMISE_TO_PAY:
        reasons.append(Reason.DPD_BELOW_MINIMUM)
    if facts.dpd > rules.max_dpd:
        reasons.append(Reason.DPD_ABOVE_MAXIMUM)
    count = restructures_in_last_12_months(facts.restructure_dates, facts.as_of)
    if count >= rules.max_restructures_in_12_months and plan_type is not PlanType.PROMISE_TO_PAY:
        reasons.append(Reason.TOO_MANY_RESTRUCTURES)
    if facts.charged_off:
        reasons.append(Reason.CHARGED_OFF)
    if facts.active_plan:
        reasons.append(Reason.ACTIVE_PLAN)
    if facts.pending_request:
        reasons.append(Reason.PENDING_REQUEST)
    if facts.payments_made < rules.min_payments_made:
        reasons.append(Reason.TOO_FEW_PAYMENTS)
    if plan_type in rules.hardship_reason_required_for and not (hardship_reason or "").strip():
        reasons.append(Reason.HARDSHIP_REASON_REQUIRED)
    if (
        plan_type is PlanType.DISCOUNTED_SETTLEMENT
        and discount * 10_000 > owed * rules.max_discount_bps
    ):
        reasons.append(Reason.DISCOUNT_TOO_LARGE)
    if plan_type is PlanType.RE_AMORTISATION and facts.remaining_instalments < 1:
        reasons.append(Reason.NO_REMAINING_INSTALMENTS)
    return reasons
