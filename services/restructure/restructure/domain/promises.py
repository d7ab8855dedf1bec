"""Promises to pay: payments matched to open promises oldest first, with a tolerance.

A promise of ``amount`` by ``due`` is **kept** when the payments matched to it reach the
amount minus the product's amount threshold by ``due`` plus grace days, **partly kept**
when something but less was matched by then, **broken** when nothing was. Before
``due + grace`` it is **open**. A payment is matched to the oldest promise still short;
a reversed payment simply is not in the list, so re-evaluating un-keeps the promise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class PromiseOutcome(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    PARTLY_KEPT = "partly_kept"
    BROKEN = "broken"


@dataclass(frozen=True)
class Promise:
    promise_id: str
    made_on: date
    due: date
    amount: int


@dataclass(frozen=True)
class PromiseTolerance:
    grace_days: int = 0
    amount_threshold: int = 0


@dataclass(frozen=True)
class PromiseResult:
    promise: Promise
    matched: int
    outcome: PromiseOutcome


def evaluate_promises(
    promises: Sequence[Promise],
    payments: Sequence[tuple[date, int]],
    tolerance: PromiseTolerance,
    as_of: date,
) -> list[PromiseResult]:
    """Each promise's outcome on ``as_of`` (payments not yet reversed, any order)."""
    ordered = sorted(promises, key=lambda p: (p.made_on, p.due, p.promise_id))
    matched = dict.fromkeys((p.promise_id for p in ordered), 0)
    for paid_on, amount in sorted(payments):
        left = amount
        for p in ordered:
            deadline = p.due + timedelta(days=tolerance.grace_days)
            if left <= 0:
                break
            if paid_on < p.made_on or paid_on > deadline:
                continue
            take = min(left, p.amount - matched[p.promise_id])
            if take > 0:
                matched[p.promise_id] += take
                left -= take
    results = []
    for p in ordered:
        got = matched[p.promise_id]
        deadline = p.due + timedelta(days=tolerance.grace_days)
        if got >= p.amount - tolerance.amount_threshold:
            outcome = PromiseOutcome.KEPT
        elif as_of <= deadline:
            outcome = PromiseOutcome.OPEN
        elif got > 0:
            outcome = PromiseOutcome.PARTLY_KEPT
        else:
            outcome = PromiseOutcome.BROKEN
        results.append(PromiseResult(p, got, outcome))
    return results
