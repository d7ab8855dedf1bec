"""The business clock closes days without gaps and refuses days it can no longer close."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendkit.business_clock import (
    BeforeBusinessClock,
    CatchUpTooLong,
    ClosedRange,
    days_to_close,
)

CLOSED = ClosedRange(date(2026, 3, 1), date(2026, 3, 10))


def test_a_clock_that_never_ran_starts_at_the_date() -> None:
    assert days_to_close(None, date(2026, 3, 15)) == [date(2026, 3, 15)]


def test_the_next_day_is_closed_alone() -> None:
    assert days_to_close(CLOSED, date(2026, 3, 11)) == [date(2026, 3, 11)]


def test_skipped_days_are_closed_first_oldest_first() -> None:
    assert days_to_close(CLOSED, date(2026, 3, 14)) == [
        date(2026, 3, 11),
        date(2026, 3, 12),
        date(2026, 3, 13),
        date(2026, 3, 14),
    ]


def test_a_closed_day_is_returned_alone_for_the_caller_to_find_closed() -> None:
    assert days_to_close(CLOSED, date(2026, 3, 5)) == [date(2026, 3, 5)]
    assert days_to_close(CLOSED, date(2026, 3, 10)) == [date(2026, 3, 10)]


def test_a_day_before_the_first_closed_day_is_refused() -> None:
    with pytest.raises(BeforeBusinessClock, match=r"2026-02-28.*first closed day 2026-03-01"):
        days_to_close(CLOSED, date(2026, 2, 28))


def test_a_catch_up_longer_than_allowed_is_refused() -> None:
    assert len(days_to_close(CLOSED, date(2026, 3, 17), max_catch_up_days=7)) == 7
    with pytest.raises(CatchUpTooLong, match=r"8 business days.*at most 7"):
        days_to_close(CLOSED, date(2026, 3, 18), max_catch_up_days=7)


def test_the_catch_up_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        days_to_close(CLOSED, date(2026, 3, 11), max_catch_up_days=0)


@given(
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    span=st.integers(min_value=0, max_value=400),
    ahead=st.integers(min_value=1, max_value=400),
)
def test_after_any_close_the_closed_days_have_no_gap(first: date, span: int, ahead: int) -> None:
    closed = ClosedRange(first, first + timedelta(days=span))
    target = closed.last + timedelta(days=ahead)
    days = days_to_close(closed, target, max_catch_up_days=400)
    assert days[0] == closed.last + timedelta(days=1)
    assert days[-1] == target
    assert all(b - a == timedelta(days=1) for a, b in pairwise(days))
