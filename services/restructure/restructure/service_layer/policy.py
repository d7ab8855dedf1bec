"""A product's published restructure policy as the domain's rules and default parameters."""

from __future__ import annotations

from lendkit.contracts.policies import RestructurePolicySpec
from restructure.domain.eligibility import EligibilityRules
from restructure.domain.options import PlanDefaults
from restructure.domain.plans import DeferredInterest, PlanType


def eligibility_rules(policy: RestructurePolicySpec) -> EligibilityRules:
    return EligibilityRules(
        min_dpd=policy.min_dpd,
        max_dpd=policy.max_dpd,
        max_restructures_in_12_months=policy.max_restructures_in_12_months,
        allowed=frozenset(PlanType(o) for o in policy.allowed_options),
        min_payments_made=policy.min_payments_made,
        hardship_reason_required_for=frozenset(
            PlanType(o) for o in policy.hardship_reason_required_for
        ),
        max_discount_bps=policy.max_discount_bps,
    )


def plan_defaults(policy: RestructurePolicySpec) -> PlanDefaults:
    return PlanDefaults(
        holiday_periods=policy.max_holiday_periods,
        extension_periods=policy.max_extension_periods,
        deferred_interest=DeferredInterest(policy.deferred_interest),
    )
