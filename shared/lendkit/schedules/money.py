"""Money as integer minor units, with explicit rounding.

Amounts are plain ``int`` minor units (fen, cents, yen); the ISO 4217 currency
code travels beside them on the owning object (product, schedule, entry). Rates
and intermediate results are ``Decimal``; converting back to minor units always
goes through :func:`round_minor` with a named rounding rule. Floats never appear.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from lendkit.schedules.errors import UnknownCurrency

#: Working precision for schedule arithmetic: far beyond any rounding that matters
#: for 10^12 minor units over 600 periods.
CALCULATION_PRECISION = 50


class Rounding(StrEnum):
    """How a fractional minor unit becomes a whole one."""

    HALF_EVEN = "HALF_EVEN"  # banker's rounding, the default
    HALF_UP = "HALF_UP"  # 四舍五入, when a product's contract says so

    @property
    def decimal_mode(self) -> str:
        """The matching :mod:`decimal` rounding constant."""
        return _DECIMAL_MODES[self]


_DECIMAL_MODES: Mapping[Rounding, str] = MappingProxyType(
    {Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN, Rounding.HALF_UP: decimal.ROUND_HALF_UP}
)

#: ISO 4217 minor-unit exponents for the currencies the platform lends in.
CURRENCY_EXPONENTS: Mapping[str, int] = MappingProxyType(
    {
        "CNY": 2,
        "HKD": 2,
        "MOP": 2,
        "TWD": 2,
        "USD": 2,
        "EUR": 2,
        "GBP": 2,
        "SGD": 2,
        "MYR": 2,
        "THB": 2,
        "PHP": 2,
        "INR": 2,
        "IDR": 2,
        "MXN": 2,
        "BRL": 2,
        "JPY": 0,
        "KRW": 0,
        "VND": 0,
        "CLP": 0,
        "BHD": 3,
        "KWD": 3,
        "JOD": 3,
        "OMR": 3,
        "TND": 3,
    }
)


def currency_exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (CNY 2, JPY 0, KWD 3)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {currency!r}") from None


def is_known_currency(currency: str) -> bool:
    """True when :func:`currency_exponent` knows the code."""
    return currency in CURRENCY_EXPONENTS


def round_minor(value: Decimal, rounding: Rounding = Rounding.HALF_EVEN) -> int:
    """Round an amount already expressed in minor units to a whole minor unit.

    >>> round_minor(Decimal("13849.5"))
    13850
    >>> round_minor(Decimal("12.5")), round_minor(Decimal("12.5"), Rounding.HALF_UP)
    (12, 13)
    """
    if not value.is_finite():
        raise ValueError(f"cannot round non-finite amount {value}")
    with decimal.localcontext() as ctx:
        ctx.prec = CALCULATION_PRECISION
        return int(value.quantize(Decimal(1), rounding=rounding.decimal_mode))


def to_minor(major: Decimal, currency: str, rounding: Rounding = Rounding.HALF_EVEN) -> int:
    """Major units (``Decimal("916.80")`` CNY) to minor units (``91680``).

    Digits beyond the currency's exponent are rounded with ``rounding``.
    """
    exponent = currency_exponent(currency)
    with decimal.localcontext() as ctx:
        ctx.prec = CALCULATION_PRECISION
        return round_minor(major.scaleb(exponent), rounding)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units to an exact major-unit ``Decimal`` with the currency's places.

    ``to_major(91680, "CNY") == Decimal("916.80")`` (and ``str()`` gives ``"916.80"``);
    ``to_major(500, "JPY") == Decimal("500")``.
    """
    exponent = currency_exponent(currency)
    return Decimal(minor).scaleb(-exponent)
