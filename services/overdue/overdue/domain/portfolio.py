"""Portfolio health for operations: roll rates between buckets and the cure rate.

Snapshots map loan id -> bucket name on a date. Only loans present in both snapshots
are compared; loans that appear only in A (repaid, sold, written off) or only in B
(new) are counted separately so that nothing disappears silently.
"""

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
    names = buckets.names
    _check_names(at_a, names)
    _check_names(at_b, names)
    grid = [[0] * len(names) for _ in names]
    for loan_id, source in at_a.items():
        target = at_b.get(loan_id)
        if target is not None:
            grid[names.index(source)][names.index(target)] += 1
    return RollRateMatrix(
        bucket_names=names,
        counts=tuple(tuple(row) for row in grid),
        left_book=sum(1 for loan_id in at_a if loan_id not in at_b),
        joined_book=sum(1 for loan_id in at_b if loan_id not in at_a),
    )


def cure_rate(at_a: Mapping[str, str], at_b: Mapping[str, str], buckets: Buckets) -> Decimal | None:
    """Share of loans delinquent at A (any bucket but current) that are current at B.

    Only loans in both snapshots count. 6 places, half-even; ``None`` when no loan
    present in both was delinquent at A.
    """
    _check_names(at_a, buckets.names)
    _check_names(at_b, buckets.names)
    current = buckets.current.name
    delinquent = [loan_id for loan_id, name in at_a.items() if name != current and loan_id in at_b]
    cured = sum(1 for loan_id in delinquent if at_b[loan_id] == current)
    return _share(cured, len(delinquent))


def _share(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


def _check_names(snapshot: Mapping[str, str], names: tuple[str, ...]) -> None:
    unknown = sorted({name for name in snapshot.values() if name not in names})
    if unknown:
        raise ValueError(f"unknown bucket names {unknown}; buckets are {list(names)}")
