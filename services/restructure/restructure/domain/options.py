"""Every plan type for one hardship request, side by side with the current terms.

For each type the product allows (and every other type, marked not offered) the answer is
either an exact :class:`Quote` or every reason it is refused. Default parameters come from
the product's policy: the longest holiday and extension it allows, a rate cut to the
policy's floor, a full penalty and fee waiver, the maximum discount, a promise of what is
overdue within the promise horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from restructure.domain.eligibility import EligibilityRules, LoanFacts, Reason, ineligibility
from restructure.domain.errors import InvalidPlan
from restructure.domain.plans import (
    DeferredInterest,
    PlanType,
    Quote,
    current_terms,
    discounted_settlement,
    payment_holiday,
    penalty_waiver,
    promise_to_pay,
    rate_reduction,
    re_amortisation,
    term_extension,
)
from restructure.domain.position import LoanPosition


@dataclass(frozen=True)
class PlanDefaults:
    """The parameters each default quote uses (from the product's restructure policy)."""

    holiday_periods: int = 3
    extension_periods: int = 12
    deferred_interest: DeferredInterest = DeferredInterest.CAPITALISE
    reduced_annual_rate: Decimal = Decimal(0)
    settlement_days: int = 14
    promise_days: int = 7


@dataclass(frozen=True)
class Option:
    """One plan type: its quote when eligible, else every reason it is refused."""

    plan_type: PlanType
    quote: Quote | None
    reasons: tuple[Reason, ...]

    @property
    def eligible(self) -> bool:
        return self.quote is not None


@dataclass(frozen=True)
class Options:
    current: Quote
    options: tuple[Option, ...]

    @property
    def eligible(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.eligible)


def _settlement_amount(position: LoanPosition, rules: EligibilityRules) -> int:
    owed = position.total_owed
    return owed - owed * rules.max_discount_bps // 10_000


def _quote(
    plan_type: PlanType, position: LoanPosition, rules: EligibilityRules, d: PlanDefaults
) -> Quote:
    today = position.as_of
    if plan_type is PlanType.PAYMENT_HOLIDAY:
        return payment_holiday(position, d.holiday_periods, d.deferred_interest)
    if plan_type is PlanType.TERM_EXTENSION:
        return term_extension(position, d.extension_periods)
    if plan_type is PlanType.RE_AMORTISATION:
        return re_amortisation(position)
    if plan_type is PlanType.RATE_REDUCTION:
        rate = min(d.reduced_annual_rate, position.terms.annual_rate)
        return rate_reduction(position, rate)
    if plan_type is PlanType.PENALTY_WAIVER:
        return penalty_waiver(position)
    if plan_type is PlanType.DISCOUNTED_SETTLEMENT:
        deadline = today + timedelta(days=d.settlement_days)
        return discounted_settlement(position, _settlement_amount(position, rules), deadline)
    overdue = sum(i.total for i in position.overdue) + position.penalty + position.fee
    return promise_to_pay(position, today + timedelta(days=d.promise_days), max(overdue, 1))


def quote_options(
    position: LoanPosition,
    facts: LoanFacts,
    rules: EligibilityRules,
    defaults: PlanDefaults,
    *,
    hardship_reason: str | None,
) -> Options:
    """Every plan type's quote or reasons, and the current terms to compare with."""
    results: list[Option] = []
    owed = position.total_owed
    for plan_type in PlanType:
        discount = (
            owed - _settlement_amount(position, rules)
            if plan_type is PlanType.DISCOUNTED_SETTLEMENT
            else 0
        )
        reasons = ineligibility(
            plan_type, facts, rules, hardship_reason=hardship_reason, discount=discount, owed=owed
        )
        quote: Quote | None = None
        if not reasons:
            try:
                quote = _quote(plan_type, position, rules, defaults)
            except InvalidPlan:
                reasons = [Reason.NO_REMAINING_INSTALMENTS]
        results.append(Option(plan_type, quote, tuple(reasons)))
    return Options(current_terms(position), tuple(results))


__all__ = ["Option", "Options", "PlanDefaults", "quote_options"]
