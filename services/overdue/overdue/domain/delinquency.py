"""Days past due, the arrears grace window, and delinquency buckets.

DPD counts from the day after the oldest unpaid instalment's due date: an
instalment due on 2026-03-15 and still unpaid is 1 day past due on 2026-03-16,
and 0 days past due on the due date itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

from lendkit.contracts.policies import DEFAULT_BUCKETS, bucket_problem, buckets_problem
from overdue.domain.invalid_policy import InvalidPolicy

if TYPE_CHECKING:
    from overdue.domain.policy import OverduePolicy


def days_past_due(oldest_unpaid_due_date: date | None, as_of: date) -> int:
    """Days past due on ``as_of``; 0 when nothing is unpaid or the due date has not passed."""
    if oldest_unpaid_due_date is None:
        return 0
    return max(0, (as_of - oldest_unpaid_due_date).days)


def is_in_arrears(dpd: int, policy: OverduePolicy) -> bool:
    """A loan counts as overdue only once DPD exceeds the arrears grace."""
    return dpd > policy.arrears_grace_days


def arrears_grace_ends_on(due_date: date, policy: OverduePolicy) -> date:
    """Last day of the arrears grace window (the due date itself when the grace is 0)."""
    return due_date + timedelta(days=policy.arrears_grace_days)


def overdue_from(due_date: date, policy: OverduePolicy) -> date:
    """First day on which an instalment due on ``due_date`` and still unpaid is overdue."""
    return arrears_grace_ends_on(due_date, policy) + timedelta(days=1)


@dataclass(frozen=True)
class Bucket:
    """A named DPD range, both ends inclusive; ``max_dpd=None`` is open-ended."""

    name: str
    min_dpd: int
    max_dpd: int | None

    def __post_init__(self) -> None:
        if problem := bucket_problem(self.name, self.min_dpd, self.max_dpd):
            raise InvalidPolicy(problem)

    def contains(self, dpd: int) -> bool:
        return self.min_dpd <= dpd and (self.max_dpd is None or dpd <= self.max_dpd)


@dataclass(frozen=True)
class Buckets:
    """Ordered, contiguous buckets covering every DPD from 0 upwards.

    Validation (the published rule, ``lendkit.contracts.policies.buckets_problem``) rejects:
    no buckets, duplicate names, a first bucket not starting at 0, overlaps, gaps, and any
    bucket but the last being open-ended (or the last closed).
    """

    ranges: tuple[Bucket, ...]

    def __post_init__(self) -> None:
        if problem := buckets_problem([(b.name, b.min_dpd, b.max_dpd) for b in self.ranges]):
            raise InvalidPolicy(problem)

    @classmethod
    def of(cls, ranges: Iterable[tuple[str, int, int | None]]) -> Buckets:
        """Build from ``(name, min_dpd, max_dpd)`` triples, in ascending order."""
        return cls(tuple(Bucket(name, lo, hi) for name, lo, hi in ranges))

    @classmethod
    def default(cls) -> Buckets:
        """current, 1-30, 31-60, 61-90, 91-120, 120+ (that is, 121 and more)."""
        return cls.of(DEFAULT_BUCKETS)

    def __iter__(self) -> Iterator[Bucket]:
        return iter(self.ranges)

    def __len__(self) -> int:
        return len(self.ranges)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.ranges)

    @property
    def current(self) -> Bucket:
        """The bucket of a loan with nothing past due (DPD 0)."""
        return self.ranges[0]

    def bucket_for(self, dpd: int) -> Bucket:
        if dpd < 0:
            raise ValueError(f"DPD must not be negative, got {dpd}")
        for bucket in self.ranges:
            if bucket.contains(dpd):
                return bucket
        raise AssertionError("unreachable: validated buckets cover every DPD")  # pragma: no cover

    def named(self, name: str) -> Bucket:
        for bucket in self.ranges:
            if bucket.name == name:
                return bucket
        raise KeyError(f"no bucket named {name!r}; buckets are {list(self.names)}")

    def rank(self, bucket: Bucket) -> int:
        """Position of ``bucket`` in the order (0 = current); higher is worse."""
        return self.ranges.index(bucket)


class BucketTransition(NamedTuple):
    from_bucket: Bucket
    to_bucket: Bucket

    @property
    def is_worsening(self) -> bool:
        return self.to_bucket.min_dpd > self.from_bucket.min_dpd


def bucket_transition(previous: Bucket, new: Bucket) -> BucketTransition | None:
    """``None`` when the bucket did not change, else the (from, to) pair to announce."""
    if previous == new:
        return None
    return BucketTransition(previous, new)


@dataclass(frozen=True)
class Delinquency:
    """A loan's delinquency on one business date."""

    as_of: date
    dpd: int
    bucket: Bucket
    in_arrears: bool


def delinquency_on(
    oldest_unpaid_due_date: date | None, as_of: date, policy: OverduePolicy
) -> Delinquency:
    dpd = days_past_due(oldest_unpaid_due_date, as_of)
    return Delinquency(
        as_of=as_of,
        dpd=dpd,
        bucket=policy.buckets.bucket_for(dpd),
        in_arrears=is_in_arrears(dpd, policy),
    )
