"""A product's overdue policy: defaults, validation, and the product dict."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest

from overdue.domain.delinquency import Buckets
from overdue.domain.escalation import EscalationLadder
from overdue.domain.policy import InvalidPolicy, OverduePolicy, PenaltyBase

pytestmark = pytest.mark.unit


def test_defaults_match_the_product_brief() -> None:
    policy = OverduePolicy()
    assert policy.arrears_grace_days == 3
    assert policy.penalty_grace_days == 0
    assert policy.penalty_daily_rate == Decimal("0.0005")
    assert policy.penalty_base is PenaltyBase.OVERDUE_PRINCIPAL
    assert policy.penalty_rounding == ROUND_HALF_EVEN
    assert policy.annual_cost_ceiling == Decimal("0.24")
    assert policy.absolute_penalty_cap_minor is None
    assert policy.buckets.names == ("current", "1-30", "31-60", "61-90", "91-120", "120+")
    assert policy.escalation == EscalationLadder(
        reminder_dpd=1, early_dpd=4, mid_dpd=31, late_dpd=61, legal_dpd=91
    )
    assert policy.escalation.charge_off_candidate_dpd == 180
    assert (policy.credit_report_notice_dpd, policy.credit_report_wait_days) == (30, 14)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arrears_grace_days": -1}, "arrears_grace_days must be at least 0"),
        ({"penalty_grace_days": -2}, "penalty_grace_days must be at least 0"),
        ({"penalty_daily_rate": Decimal("-0.0001")}, "penalty_daily_rate must not be negative"),
        ({"penalty_daily_rate": Decimal("NaN")}, "penalty_daily_rate must be a finite number"),
        ({"annual_cost_ceiling": Decimal(0)}, "annual_cost_ceiling must be positive"),
        ({"absolute_penalty_cap_minor": -5}, "absolute_penalty_cap_minor must be at least 0"),
        ({"credit_report_notice_dpd": 0}, "credit_report_notice_dpd must be at least 1"),
        ({"credit_report_wait_days": -1}, "credit_report_wait_days must be at least 0"),
        ({"penalty_rounding": "ROUND_CEILING"}, "penalty_rounding must be one of"),
        ({"arrears_grace_days": True}, "arrears_grace_days must be an int"),
    ],
)
def test_invalid_settings_are_rejected_with_a_clear_message(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        OverduePolicy(**changes)


def test_policy_from_product_mapping_reads_decimal_strings_and_integer_counts() -> None:
    policy = OverduePolicy.from_mapping(
        {
            "arrears_grace_days": 5,
            "penalty_grace_days": 2,
            "penalty_daily_rate": "0.0003",
            "penalty_base": "overdue_principal_and_interest",
            "annual_cost_ceiling": "0.36",
            "absolute_penalty_cap_minor": 50_000,
            "buckets": [
                {"name": "current", "min_dpd": 0, "max_dpd": 0},
                {"name": "early", "min_dpd": 1, "max_dpd": 89},
                {"name": "npl", "min_dpd": 90},
            ],
            "escalation": {"legal_dpd": 120, "charge_off_candidate_dpd": 365},
            "credit_report_wait_days": 7,
        }
    )
    assert policy.arrears_grace_days == 5
    assert policy.penalty_grace_days == 2
    assert policy.penalty_daily_rate == Decimal("0.0003")
    assert policy.penalty_base is PenaltyBase.OVERDUE_PRINCIPAL_AND_INTEREST
    assert policy.annual_cost_ceiling == Decimal("0.36")
    assert policy.absolute_penalty_cap_minor == 50_000
    assert policy.buckets.names == ("current", "early", "npl")
    assert policy.escalation.legal_dpd == 120
    assert policy.escalation.late_dpd == 61
    assert policy.credit_report_wait_days == 7
    assert policy.credit_report_notice_dpd == 30


def test_empty_mapping_gives_the_defaults_and_round_trips() -> None:
    assert OverduePolicy.from_mapping({}) == OverduePolicy()
    custom = OverduePolicy(absolute_penalty_cap_minor=1_000, annual_cost_ceiling=Decimal("0.1"))
    assert OverduePolicy.from_mapping(custom.to_mapping()) == custom


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"penalty_daily_rate": 0.0005}, "penalty_daily_rate: .*not a float"),
        ({"penalty_daily_rate": "five"}, "penalty_daily_rate: must be a decimal string"),
        ({"penalty_daily_rate": "0.02"}, "penalty_daily_rate: .*less than or equal to"),
        ({"penalty_base": "everything"}, "penalty_base: Input should be 'overdue_principal'"),
        ({"arrears_grace_days": "three"}, "arrears_grace_days: Input should be a valid integer"),
        ({"arrears_grace_days": "3"}, "arrears_grace_days: Input should be a valid integer"),
        ({"arrears_grace_days": 91}, "arrears_grace_days: .*less than or equal to 90"),
        ({"absolute_penalty_cap_minor": 1000.0}, "absolute_penalty_cap_minor: .*valid integer"),
        ({"penalty_rate": "0.001"}, "penalty_rate: unknown setting"),
        ({"buckets": "current,1-30"}, "buckets: Input should be a valid list"),
        ({"buckets": [{"name": "current"}]}, "buckets.0.min_dpd: Field required"),
        ({"escalation": [1, 4, 31]}, "escalation: Input should be a valid dictionary"),
        ({"escalation": {"early_dpd": 40}}, "mid .* must start after early"),
        ({"escalation": {"legal": 120}}, "escalation.legal: unknown setting"),
    ],
)
def test_bad_product_mapping_is_rejected(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        OverduePolicy.from_mapping(raw)


def test_escalation_ladder_must_ascend_and_charge_off_follow_legal() -> None:
    with pytest.raises(InvalidPolicy, match="reminder must start at DPD 1"):
        EscalationLadder(reminder_dpd=0)
    with pytest.raises(InvalidPolicy, match="charge-off candidate DPD 60 is before legal"):
        EscalationLadder(charge_off_candidate_dpd=60)


def test_buckets_built_from_mapping_are_validated_too() -> None:
    with pytest.raises(InvalidPolicy, match="gap"):
        OverduePolicy.from_mapping(
            {
                "buckets": [
                    {"name": "current", "min_dpd": 0, "max_dpd": 0},
                    {"name": "late", "min_dpd": 2},
                ]
            }
        )
    assert isinstance(OverduePolicy().buckets, Buckets)
