"""The published policy schemas: defaults, unknown keys, strict types, bounds, and the
bucket and ladder rules the overdue domain shares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lendkit.contracts.policies import (
    MAX_PENALTY_DAILY_RATE,
    NotificationPolicySpec,
    OverduePolicySpec,
    RestructurePolicySpec,
    buckets_problem,
    policy_errors,
)

pytestmark = pytest.mark.unit

SPECS = (OverduePolicySpec, NotificationPolicySpec, RestructurePolicySpec)


@pytest.mark.parametrize("spec", SPECS)
def test_an_empty_block_gives_the_defaults_and_the_full_dump_round_trips(spec: Any) -> None:
    full = spec.model_validate({}).model_dump(mode="json")
    assert spec.model_validate(full) == spec()
    assert spec.model_validate(full).model_dump(mode="json") == full


@pytest.mark.parametrize("spec", SPECS)
def test_an_unknown_key_is_named(spec: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        spec.model_validate({"penalty_rate": "0.001"})
    assert policy_errors(caught.value) == "penalty_rate: unknown setting"


@given(st.floats(allow_nan=False, min_value=0, max_value=0.01))
def test_a_float_rate_is_refused_whatever_its_value(rate: float) -> None:
    with pytest.raises(ValidationError, match="not a float"):
        OverduePolicySpec.model_validate({"penalty_daily_rate": rate})


@given(
    st.decimals(min_value=0, max_value=MAX_PENALTY_DAILY_RATE, places=6, allow_nan=False).map(
        lambda d: format(d, "f")
    )
)
def test_a_decimal_string_rate_is_kept_exactly(text: str) -> None:
    spec = OverduePolicySpec.model_validate({"penalty_daily_rate": text})
    assert spec.penalty_daily_rate == Decimal(text)
    assert spec.model_dump(mode="json")["penalty_daily_rate"] == str(Decimal(text))


@given(st.one_of(st.booleans(), st.floats(allow_nan=False), st.text(max_size=3)))
def test_a_day_count_must_be_an_integer(value: object) -> None:
    with pytest.raises(ValidationError):
        OverduePolicySpec.model_validate({"arrears_grace_days": value})


@given(st.integers())
def test_day_counts_are_bounded(days: int) -> None:
    valid = 0 <= days <= 90
    try:
        OverduePolicySpec.model_validate({"arrears_grace_days": days})
    except ValidationError:
        assert not valid
    else:
        assert valid


@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6, unique=True))
def test_contiguous_buckets_from_zero_are_accepted(widths: list[int]) -> None:
    ranges: list[tuple[str, int, int | None]] = []
    low = 0
    for i, width in enumerate(widths):
        ranges.append((f"b{i}", low, low + width - 1))
        low += width
    ranges.append(("last", low, None))
    assert buckets_problem(ranges) is None
    spec = OverduePolicySpec.model_validate(
        {"buckets": [{"name": n, "min_dpd": lo, "max_dpd": hi} for n, lo, hi in ranges]}
    )
    assert [b.name for b in spec.buckets] == [n for n, _, _ in ranges]


def test_a_gap_between_buckets_is_refused() -> None:
    with pytest.raises(ValidationError, match="gap between 'current'"):
        OverduePolicySpec.model_validate(
            {
                "buckets": [
                    {"name": "current", "min_dpd": 0, "max_dpd": 0},
                    {"name": "x", "min_dpd": 2},
                ]
            }
        )


def test_the_contact_caps_never_exceed_the_regulatory_maxima() -> None:
    defaults = NotificationPolicySpec()
    assert defaults.max_call_attempts_per_7_days == 7
    assert defaults.no_calls_days_after_conversation == 7
    for looser in (
        {"max_call_attempts_per_7_days": 8},
        {"no_calls_days_after_conversation": 6},
        {"max_unanswered_attempts_per_day_per_number": 7},
        {"max_connected_voice_calls_per_day": 4},
        {"channels": []},
        {"channels": ["push", "push"]},
        {"languages": ["fr"]},
        {"quiet_hours": [{"jurisdiction": "US", "start": "21:00", "end": "21:00"}]},
    ):
        with pytest.raises(ValidationError):
            NotificationPolicySpec.model_validate(looser)


def test_restructure_eligibility_is_a_dpd_range_with_known_options() -> None:
    assert RestructurePolicySpec().offer_expiry_days == 7
    for wrong in (
        {"min_dpd": 31, "max_dpd": 30},
        {"offer_expiry_days": 91},
        {"max_restructures_in_12_months": 13},
        {"allowed_options": ["free_money"]},
    ):
        with pytest.raises(ValidationError):
            RestructurePolicySpec.model_validate(wrong)
