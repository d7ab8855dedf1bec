"""Money: integer minor units, explicit rounding, currency exponents."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import UnknownCurrency
from ledger.domain.money import (
    Rounding,
    currency_exponent,
    round_minor,
    to_major,
    to_minor,
)


def test_half_even_rounds_ties_to_the_even_minor_unit() -> None:
    assert round_minor(Decimal("12.5")) == 12
    assert round_minor(Decimal("13.5")) == 14
    assert round_minor(Decimal("-12.5")) == -12
    assert round_minor(Decimal("13849.8")) == 13850


def test_half_up_rounds_ties_away_from_zero() -> None:
    assert round_minor(Decimal("12.5"), Rounding.HALF_UP) == 13
    assert round_minor(Decimal("13.5"), Rounding.HALF_UP) == 14
    assert round_minor(Decimal("-12.5"), Rounding.HALF_UP) == -13
    assert round_minor(Decimal("12.4999"), Rounding.HALF_UP) == 12


def test_round_minor_refuses_non_finite_amounts() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        round_minor(Decimal("NaN"))


@pytest.mark.parametrize(("currency", "exponent"), [("CNY", 2), ("USD", 2), ("JPY", 0), ("KWD", 3)])
def test_currency_exponent_is_the_iso_minor_unit(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


def test_unknown_currency_is_rejected() -> None:
    with pytest.raises(UnknownCurrency, match="XXX"):
        currency_exponent("XXX")


def test_major_to_minor_uses_the_currency_exponent() -> None:
    assert to_minor(Decimal("916.80"), "CNY") == 91680
    assert to_minor(Decimal("500"), "JPY") == 500
    assert to_minor(Decimal("1.234"), "KWD") == 1234


def test_major_to_minor_rounds_extra_digits_with_the_given_rule() -> None:
    assert to_minor(Decimal("0.125"), "CNY") == 12
    assert to_minor(Decimal("0.125"), "CNY", Rounding.HALF_UP) == 13


def test_minor_to_major_keeps_the_currency_places() -> None:
    assert str(to_major(91680, "CNY")) == "916.80"
    assert str(to_major(5, "CNY")) == "0.05"
    assert str(to_major(0, "CNY")) == "0.00"
    assert str(to_major(500, "JPY")) == "500"


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from(["CNY", "JPY", "KWD"]),
)
def test_minor_major_round_trip_is_exact(minor: int, currency: str) -> None:
    assert to_minor(to_major(minor, currency), currency) == minor
