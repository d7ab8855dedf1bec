"""Eligibility gives every failing reason."""

from __future__ import annotations

from datetime import date

from restructure.domain.eligibility import (
    EligibilityRules,
    LoanFacts,
    Reason,
    ineligibility,
    restructures_in_last_12_months,
)
from restructure.domain.plans import PlanType

TODAY = date(2026, 6, 1)
RULES = EligibilityRules(
    min_dpd=1,
    max_dpd=90,
    max_restructures_in_12_months=1,
    allowed=frozenset(PlanType),
    min_payments_made=3,
    hardship_reason_required_for=frozenset({PlanType.DISCOUNTED_SETTLEMENT}),
    max_discount_bps=2_000,
)


def test_an_eligible_loan_has_no_reasons() -> None:
    facts = LoanFacts(as_of=TODAY, dpd=20, payments_made=3)
    assert ineligibility(PlanType.TERM_EXTENSION, facts, RULES) == []


def test_every_reason_is_given_not_just_the_first() -> None:
    facts = LoanFacts(
        as_of=TODAY,
        dpd=120,
        charged_off=True,
        active_plan=True,
        pending_request=True,
        payments_made=1,
        restructure_dates=(date(2025, 12, 1),),
    )
    reasons = ineligibility(
        PlanType.DISCOUNTED_SETTLEMENT, facts, RULES, hardship_reason=" ", discount=30, owed=100
    )
    assert reasons == [
        Reason.DPD_ABOVE_MAXIMUM,
        Reason.TOO_MANY_RESTRUCTURES,
        Reason.CHARGED_OFF,
        Reason.ACTIVE_PLAN,
        Reason.PENDING_REQUEST,
        Reason.TOO_FEW_PAYMENTS,
        Reason.HARDSHIP_REASON_REQUIRED,
        Reason.DISCOUNT_TOO_LARGE,
    ]


def test_type_not_offered_and_dpd_below_minimum_and_matured_re_amortisation() -> None:
    rules = EligibilityRules(allowed=frozenset({PlanType.TERM_EXTENSION}))
    facts = LoanFacts(as_of=TODAY, dpd=0, remaining_instalments=0)
    assert ineligibility(PlanType.RE_AMORTISATION, facts, rules) == [
        Reason.TYPE_NOT_OFFERED,
        Reason.DPD_BELOW_MINIMUM,
        Reason.NO_REMAINING_INSTALMENTS,
    ]


def test_a_discount_at_the_maximum_is_allowed() -> None:
    facts = LoanFacts(as_of=TODAY, dpd=20, payments_made=3)
    ok = ineligibility(
        PlanType.DISCOUNTED_SETTLEMENT,
        facts,
        RULES,
        hardship_reason="job loss",
        discount=20,
        owed=100,
    )
    assert ok == []


def test_restructures_counted_over_the_last_365_days() -> None:
    dates = [date(2025, 6, 1), date(2025, 6, 2), date(2026, 6, 1)]
    assert restructures_in_last_12_months(dates, TODAY) == 2
