"""Days past due, arrears grace, and buckets."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overdue.domain.delinquency import (
    Bucket,
    Buckets,
    arrears_grace_ends_on,
    bucket_transition,
    days_past_due,
    delinquency_on,
    is_in_arrears,
    overdue_from,
)
from overdue.domain.policy import InvalidPolicy, OverduePolicy

pytestmark = pytest.mark.unit

DUE = date(2026, 3, 15)
BUCKETS = Buckets.default()


def test_dpd_is_zero_on_the_due_date() -> None:
    assert days_past_due(DUE, date(2026, 3, 15)) == 0


def test_dpd_counts_from_the_day_after_the_due_date() -> None:
    assert days_past_due(DUE, date(2026, 3, 16)) == 1
    assert days_past_due(DUE, date(2026, 4, 14)) == 30
    assert days_past_due(DUE, date(2026, 4, 15)) == 31


def test_dpd_is_zero_before_the_due_date_and_when_nothing_is_unpaid() -> None:
    assert days_past_due(DUE, date(2026, 3, 1)) == 0
    assert days_past_due(None, date(2026, 3, 16)) == 0


def test_dpd_crosses_month_ends_and_leap_days() -> None:
    assert days_past_due(date(2028, 2, 28), date(2028, 3, 1)) == 2  # 2028-02-29 exists
    assert days_past_due(date(2026, 12, 31), date(2027, 1, 1)) == 1


def test_loan_is_in_arrears_only_after_the_arrears_grace() -> None:
    policy = OverduePolicy(arrears_grace_days=3)
    assert [is_in_arrears(dpd, policy) for dpd in range(6)] == [
        False,
        False,
        False,
        False,
        True,
        True,
    ]
    assert arrears_grace_ends_on(DUE, policy) == date(2026, 3, 18)
    assert overdue_from(DUE, policy) == date(2026, 3, 19)


def test_zero_grace_makes_dpd_1_overdue() -> None:
    policy = OverduePolicy(arrears_grace_days=0)
    assert not is_in_arrears(0, policy)
    assert is_in_arrears(1, policy)
    assert overdue_from(DUE, policy) == date(2026, 3, 16)


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-120"),
        (120, "91-120"),
        (121, "120+"),
        (10_000, "120+"),
    ],
)
def test_default_buckets_at_their_edges(dpd: int, bucket: str) -> None:
    assert BUCKETS.bucket_for(dpd).name == bucket


def test_negative_dpd_has_no_bucket() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        BUCKETS.bucket_for(-1)


def test_overlapping_buckets_are_rejected() -> None:
    with pytest.raises(InvalidPolicy, match="overlaps"):
        Buckets.of([("current", 0, 0), ("1-30", 1, 30), ("30-60", 30, 60), ("61+", 61, None)])


def test_buckets_with_a_gap_are_rejected() -> None:
    with pytest.raises(InvalidPolicy, match="gap between '1-30'"):
        Buckets.of([("current", 0, 0), ("1-30", 1, 30), ("32+", 32, None)])


def test_negative_bucket_bounds_are_rejected() -> None:
    with pytest.raises(InvalidPolicy, match="min_dpd must not be negative"):
        Bucket("before", -5, -1)


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ([], "at least one bucket"),
        ([("1+", 1, None)], "must start at DPD 0"),
        ([("current", 0, 0), ("1-30", 1, 30)], "must be open-ended"),
        ([("current", 0, None), ("1+", 1, None)], "only the last bucket may be open-ended"),
        ([("a", 0, 0), ("a", 1, None)], "names must be unique"),
        ([("current", 0, 0), ("odd", 5, 2), ("6+", 6, None)], "below min_dpd"),
        ([("current", 0, 0), ("   ", 1, None)], "name must not be empty"),
    ],
)
def test_malformed_buckets_are_rejected(
    ranges: list[tuple[str, int, int | None]], message: str
) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        Buckets.of(ranges)


@given(st.lists(st.integers(1, 60), min_size=0, max_size=8), st.integers(0, 2_000))
def test_valid_buckets_put_every_dpd_in_exactly_one_bucket(widths: list[int], dpd: int) -> None:
    ranges: list[tuple[str, int, int | None]] = []
    start = 0
    for index, width in enumerate(widths):
        ranges.append((f"b{index}", start, start + width - 1))
        start += width
    ranges.append(("open", start, None))
    buckets = Buckets.of(ranges)
    assert sum(1 for b in buckets if b.contains(dpd)) == 1
    assert buckets.bucket_for(dpd).contains(dpd)


def test_bucket_transition_is_none_when_the_bucket_stays() -> None:
    assert bucket_transition(BUCKETS.bucket_for(5), BUCKETS.bucket_for(6)) is None


def test_bucket_transition_reports_from_and_to() -> None:
    transition = bucket_transition(BUCKETS.bucket_for(30), BUCKETS.bucket_for(31))
    assert transition is not None
    from_bucket, to_bucket = transition
    assert (from_bucket.name, to_bucket.name) == ("1-30", "31-60")
    assert transition.is_worsening
    cure = bucket_transition(BUCKETS.bucket_for(45), BUCKETS.current)
    assert cure is not None
    assert not cure.is_worsening


def test_delinquency_on_a_date_combines_dpd_bucket_and_arrears() -> None:
    status = delinquency_on(DUE, date(2026, 3, 19), OverduePolicy())
    assert (status.dpd, status.bucket.name, status.in_arrears) == (4, "1-30", True)
    assert BUCKETS.rank(status.bucket) == 1
    assert BUCKETS.named("120+").min_dpd == 121
