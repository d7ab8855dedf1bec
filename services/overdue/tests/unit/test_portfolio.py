"""Roll rates and cure rate between two bucket snapshots."""

from decimal import Decimal

import pytest

from overdue.domain.delinquency import Buckets
from overdue.domain.portfolio import cure_rate, roll_rate_matrix

pytestmark = pytest.mark.unit

BUCKETS = Buckets.default()
AT_A = {
    "L1": "current",
    "L2": "1-30",
    "L3": "1-30",
    "L4": "1-30",
    "L5": "31-60",
    "L6": "120+",
    "L7": "current",  # repaid in full before B
}
AT_B = {
    "L1": "1-30",
    "L2": "current",
    "L3": "31-60",
    "L4": "1-30",
    "L5": "current",
    "L6": "120+",
    "L8": "current",  # new loan
}


def test_roll_rate_matrix_counts_each_loan_from_its_bucket_at_a_to_its_bucket_at_b() -> None:
    matrix = roll_rate_matrix(AT_A, AT_B, BUCKETS)
    assert matrix.bucket_names == BUCKETS.names
    assert matrix.count("current", "1-30") == 1
    assert matrix.count("1-30", "current") == 1
    assert matrix.count("1-30", "1-30") == 1
    assert matrix.count("1-30", "31-60") == 1
    assert matrix.count("31-60", "current") == 1
    assert matrix.count("120+", "120+") == 1
    assert sum(sum(row) for row in matrix.counts) == 6
    assert (matrix.left_book, matrix.joined_book) == (1, 1)
    assert matrix.roll_rate("1-30", "31-60") == Decimal("0.333333")
    assert matrix.roll_rate("61-90", "91-120") is None
    assert matrix.as_dict()["1-30"] == {
        "current": 1,
        "1-30": 1,
        "31-60": 1,
        "61-90": 0,
        "91-120": 0,
        "120+": 0,
    }


def test_cure_rate_is_the_share_of_delinquent_loans_current_at_b() -> None:
    """Delinquent at A and present at B: L2, L3, L4, L5, L6; current at B: L2, L5 -> 2/5."""
    assert cure_rate(AT_A, AT_B, BUCKETS) == Decimal("0.400000")


def test_cure_rate_is_undefined_without_delinquent_loans() -> None:
    assert cure_rate({"L1": "current"}, {"L1": "current"}, BUCKETS) is None


def test_unknown_bucket_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown bucket names"):
        roll_rate_matrix({"L1": "0-29"}, {"L1": "current"}, BUCKETS)
