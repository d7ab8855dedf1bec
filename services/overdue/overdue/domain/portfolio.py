"""Portfolio health for operations: roll rates between buckets and the cure rate.

Snapshots map loan id -> bucket name on a date. Only loans present in both snapshots
are compared; loans that appear only in A (repaid, sold, written off) or only in B
(new) are counted separately so that nothing disappears silently.
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from overdue.domain.delinquency import Buckets

RATE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class RollRateMatrix:
    """Counts of loans from-bucket (rows, at A) x to-bucket (columns, at B)."""

    bucket_names: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    left_book: int
    """Loans in snapshot A but not in B."""
    joined_book: int
    """Loans in snapshot B but not in A."""

    def count(self, from_bucket: str, to_bucket: str) -> int:
        return self.counts[self._index(from_bucket)][self._index(to_bucket)]

    def row_total(self, from_bucket: str) -> int:
        return sum(self.counts[self._index(from_bucket)])

    def roll_rate(self, from_bucket: str, to_bucket: str) -> Decimal | None:
        """Share of loans in ``from_bucket`` at A that are in ``to_bucket`` at B
        (6 places, half-even); ``None`` when no loan was in ``from_bucket``."""
        return _share(self.count(from_bucket, to_bucket), self.row_total(from_bucket))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            source: dict(zip(self.bucket_names, row, strict=True))
            for source, row in zip(self.bucket_names, self.counts, strict=True)
        }

    def _index(self, name: str) -> int:
        try:
            return self.bucket_names.index(name)
        except ValueError:
            raise KeyError(f"unknown bucket {name!r}") from None


def roll_rate_matrix(
    at_a: Mapping[str, str], at_b: Mapping[str, str], buckets: Buckets
) -> RollRateMatrix:
    """The matrix of two whole snapshots (the reference :func:`matrix_from_counts` must
    agree with when the counting is done in the database)."""
    moves: Counter[tuple[str | None, str | None]] = Counter()
    for loan_id, source in at_a.items():
        moves[(source, at_b.get(loan_id))] += 1
    for loan_id, target in at_b.items():
        if loan_id not in at_a:
            moves[(None, target)] += 1
    return matrix_from_counts(moves, buckets)


def matrix_from_counts(
    moves: Mapping[tuple[str | None, str | None], int], buckets: Buckets
) -> RollRateMatrix:
    """The matrix from counts of loans per ``(bucket at A, bucket at B)``; ``None`` on a
    side: the loan is not in that snapshot. Raises ``ValueError`` for unknown names."""
    names = buckets.names
    unknown = sorted({n for pair in moves for n in pair if n is not None and n not in names})
    if unknown:
        raise ValueError(f"unknown bucket names {unknown}; buckets are {list(names)}")
    grid = [[0] * len(names) for _ in names]
    left = joined = 0
    for (source, target), count in moves.items():
        if source is None:
            joined += count if target is not None else 0
        elif target is None:
            left += count
        else:
            grid[names.index(source)][names.index(target)] += count
    return RollRateMatrix(
        bucket_names=names,
        counts=tuple(tuple(row) for row in grid),
        left_book=left,
        joined_book=joined,
    )


def cure_rate(at_a: Mapping[str, str], at_b: Mapping[str, str], buckets: Buckets) -> Decimal | None:
    """Share of loans delinquent at A (any bucket but current) that are current at B.

    Only loans in both snapshots count. 6 places, half-even; ``None`` when no loan
    present in both was delinquent at A.
    """
    return cure_rate_of(roll_rate_matrix(at_a, at_b, buckets), buckets)


def cure_rate_of(matrix: RollRateMatrix, buckets: Buckets) -> Decimal | None:
    """:func:`cure_rate` read off the roll-rate matrix: rows other than current, their
    count into current over their totals."""
    current = buckets.current.name
    rows = [name for name in matrix.bucket_names if name != current]
    cured = sum(matrix.count(name, current) for name in rows)
    return _share(cured, sum(matrix.row_total(name) for name in rows))


def _share(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
