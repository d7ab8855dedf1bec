"""A hardship request gets every eligible type's exact quote beside the current terms."""

from __future__ import annotations

from datetime import date

from restructure.domain.eligibility import EligibilityRules, LoanFacts, Reason
from restructure.domain.options import PlanDefaults, quote_options
from restructure.domain.plans import PlanType

from .positions import position


def test_every_allowed_type_is_quoted_and_the_rest_say_why() -> None:
    p = position(penalty=2_000, fee=500)
    rules = EligibilityRules(
        allowed=frozenset(PlanType) - {PlanType.RE_AMORTISATION},
        hardship_reason_required_for=frozenset({PlanType.DISCOUNTED_SETTLEMENT}),
        max_discount_bps=1_000,
    )
    facts = LoanFacts(as_of=p.as_of, dpd=p.dpd, remaining_instalments=len(p.remaining))
    result = quote_options(p, facts, rules, PlanDefaults(), hardship_reason="")
    by_type = {o.plan_type: o for o in result.options}
    assert set(by_type) == set(PlanType)
    assert by_type[PlanType.RE_AMORTISATION].reasons == (Reason.TYPE_NOT_OFFERED,)
    assert by_type[PlanType.DISCOUNTED_SETTLEMENT].reasons == (Reason.HARDSHIP_REASON_REQUIRED,)
    eligible = {o.plan_type for o in result.eligible}
    assert eligible == set(PlanType) - {PlanType.RE_AMORTISATION, PlanType.DISCOUNTED_SETTLEMENT}
    for option in result.eligible:
        assert option.quote is not None and option.quote.reconciliation_errors(p) == []
    assert result.current.total_cost == sum(i.total for i in p.unpaid) + 2_500
    waiver = by_type[PlanType.PENALTY_WAIVER].quote
    assert waiver is not None and waiver.total_cost == result.current.total_cost - 2_500


def test_settlement_at_the_maximum_discount_with_a_reason() -> None:
    p = position(penalty=2_000)
    rules = EligibilityRules(
        allowed=frozenset({PlanType.DISCOUNTED_SETTLEMENT}), max_discount_bps=1_000
    )
    facts = LoanFacts(as_of=p.as_of, dpd=p.dpd)
    result = quote_options(p, facts, rules, PlanDefaults(), hardship_reason="illness")
    [only] = result.eligible
    assert only.quote is not None
    assert only.quote.total_cost == p.total_owed - p.total_owed // 10
    assert only.quote.settlement_deadline == date(2026, 4, 29)
