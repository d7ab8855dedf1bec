"""Promises to pay: oldest first, with tolerance, un-kept by a reversal."""

from __future__ import annotations

from datetime import date

from restructure.domain.promises import (
    Promise,
    PromiseOutcome,
    PromiseTolerance,
    evaluate_promises,
)

TOL = PromiseTolerance(grace_days=2, amount_threshold=100)
FIRST = Promise("p1", date(2026, 5, 1), date(2026, 5, 10), 50_000)
SECOND = Promise("p2", date(2026, 5, 2), date(2026, 5, 20), 30_000)


def outcomes(payments: list[tuple[date, int]], as_of: date) -> list[tuple[int, PromiseOutcome]]:
    return [
        (r.matched, r.outcome) for r in evaluate_promises([SECOND, FIRST], payments, TOL, as_of)
    ]


def test_payments_match_oldest_promise_first() -> None:
    got = outcomes([(date(2026, 5, 9), 60_000)], date(2026, 5, 30))
    assert got == [(50_000, PromiseOutcome.KEPT), (10_000, PromiseOutcome.PARTLY_KEPT)]


def test_within_amount_threshold_and_grace_is_kept() -> None:
    got = outcomes([(date(2026, 5, 12), 49_900)], date(2026, 5, 13))
    assert got[0] == (49_900, PromiseOutcome.KEPT)


def test_open_until_grace_then_broken() -> None:
    assert outcomes([], date(2026, 5, 12))[0][1] is PromiseOutcome.OPEN
    assert outcomes([], date(2026, 5, 13))[0][1] is PromiseOutcome.BROKEN


def test_a_reversal_unkeeps_the_promise() -> None:
    kept = outcomes([(date(2026, 5, 9), 50_000)], date(2026, 5, 30))
    assert kept[0][1] is PromiseOutcome.KEPT
    reversed_ = outcomes([], date(2026, 5, 30))  # the payment was reversed after the date
    assert reversed_[0][1] is PromiseOutcome.BROKEN
